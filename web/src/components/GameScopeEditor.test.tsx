import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, type Plugin } from "../api/client";
import * as api from "../api/plugins";
import PluginSettingsPage from "../pages/PluginSettingsPage";
import { GameScopeEditor } from "./GameScopeEditor";

vi.mock("../api/plugins", async (original) => ({
  ...(await original<typeof import("../api/plugins")>()),
  getPlugin: vi.fn(),
  listConfig: vi.fn(),
  saveScope: vi.fn(),
}));

afterEach(() => vi.clearAllMocks());

function games() {
  return within(screen.getByRole("list", { name: "Games it runs on" }))
    .getAllByRole("listitem")
    .map((item) => item.firstChild?.textContent?.trim());
}

describe("GameScopeEditor", () => {
  it("adds and removes games, and saves them with the overrides", async () => {
    const onSave = vi.fn();
    render(<GameScopeEditor games={[{ game_name: "Valorant" }]} gameConfig={{ Valorant: { max: 8 } }} onSave={onSave} />);
    expect(games()).toEqual(["Valorant"]);
    await userEvent.type(screen.getByLabelText("Game"), "Apex Legends{Enter}");
    await userEvent.selectOptions(screen.getByLabelText("matched by"), "its id");
    await userEvent.type(screen.getByLabelText("Game"), "21779");
    await userEvent.click(screen.getByRole("button", { name: "Add game" }));
    expect(games()).toEqual(["Valorant", "Apex Legends", "id 21779"]);
    await userEvent.click(screen.getByRole("button", { name: "Remove Apex Legends" }));
    await userEvent.click(screen.getByRole("button", { name: "Save games" }));
    expect(onSave).toHaveBeenCalledWith({
      games: [{ game_name: "Valorant" }, { game_id: "21779" }],
      game_config: { Valorant: { max: 8 } },
    });
  });

  it("refuses a game listed twice, in any case", async () => {
    render(<GameScopeEditor games={[{ game_name: "Valorant" }]} gameConfig={{}} onSave={vi.fn()} />);
    await userEvent.type(screen.getByLabelText("Game"), "VALORANT{Enter}");
    expect(screen.getByRole("alert")).toHaveTextContent("VALORANT is in the list already.");
    expect(games()).toEqual(["Valorant"]);
  });

  it("with no game left, saves `every game`", async () => {
    const onSave = vi.fn();
    render(<GameScopeEditor games={[{ game_id: "21779" }]} gameConfig={{}} onSave={onSave} />);
    await userEvent.click(screen.getByRole("button", { name: "Remove id 21779" }));
    expect(screen.getByText(/runs on every game's clips/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Save games" }));
    expect(onSave).toHaveBeenCalledWith({ games: null, game_config: {} });
  });

  it("does not save overrides that are not a JSON object", async () => {
    const onSave = vi.fn();
    render(<GameScopeEditor games={null} gameConfig={null} onSave={onSave} />);
    const overrides = screen.getByLabelText("Per-game overrides (JSON)");
    await userEvent.clear(overrides);
    await userEvent.type(overrides, "{{ not json");
    await userEvent.click(screen.getByRole("button", { name: "Save games" }));
    expect(screen.getByRole("alert")).toHaveTextContent("not valid JSON");
    await userEvent.clear(overrides);
    await userEvent.type(overrides, "[[1]"); // "[1]" (user-event reads "[" as a key name)
    await userEvent.click(screen.getByRole("button", { name: "Save games" }));
    expect(screen.getByRole("alert")).toHaveTextContent("must be a JSON object");
    expect(onSave).not.toHaveBeenCalled();
  });
});

describe("the plugin settings page's games", () => {
  const plugin: Plugin = {
    id: 3, name: "scene_tagger", display_name: "Scene Tagger", description: null, version: "1.0.0", author: null,
    plugin_type: "python", entry_point: null, install_path: null, enabled: true, source: "discovered",
    load_error: null, created_at: "", updated_at: "", metadata: {},
    games: [{ game_name: "Valorant" }], game_config: { Valorant: { threshold: 0.9 } },
  };

  function renderPage() {
    vi.mocked(api.getPlugin).mockResolvedValue(plugin);
    vi.mocked(api.listConfig).mockResolvedValue([]);
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <MemoryRouter initialEntries={["/plugins/3"]}>
          <Routes>
            <Route path="/plugins/:id" element={<PluginSettingsPage />} />
          </Routes>
        </MemoryRouter>
      </QueryClientProvider>,
    );
  }

  it("saves the scope with PUT …/scope and shows what was saved", async () => {
    vi.mocked(api.saveScope).mockResolvedValue({ ...plugin, games: null, game_config: {} });
    renderPage();
    await userEvent.click(await screen.findByRole("button", { name: "Remove Valorant" }));
    await userEvent.click(screen.getByRole("button", { name: "Save games" }));
    expect(api.saveScope).toHaveBeenCalledWith(3, { games: null, game_config: { Valorant: { threshold: 0.9 } } });
    expect(await screen.findByText("Games saved: it runs on every game.")).toBeInTheDocument();
  });

  it("shows the API's refusal naming the game and the key", async () => {
    vi.mocked(api.saveScope).mockRejectedValue(
      new ApiError(422, [
        { loc: ["body", "game_config", "Valorant", "threshold"], msg: "2 is greater than the maximum of 1", type: "game_scope" },
      ]),
    );
    renderPage();
    await userEvent.click(await screen.findByRole("button", { name: "Save games" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "game_config › Valorant › threshold: 2 is greater than the maximum of 1",
    );
    expect(screen.getByText("The API refused the games; nothing was saved.")).toBeInTheDocument();
  });
});
