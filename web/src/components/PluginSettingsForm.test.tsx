import type { RJSFSchema } from "@rjsf/utils";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/client";
import * as api from "../api/plugins";
import PluginSettingsPage from "../pages/PluginSettingsPage";
import { PluginSettingsForm, toErrorSchema } from "./PluginSettingsForm";

vi.mock("../api/plugins", async (original) => ({
  ...(await original<typeof import("../api/plugins")>()),
  getPlugin: vi.fn(),
  listConfig: vi.fn(),
  saveConfig: vi.fn(),
  startBackfill: vi.fn(),
  getBackfill: vi.fn(),
}));

const schema: RJSFSchema = {
  title: "SceneTaggerConfig",
  type: "object",
  properties: {
    threshold: { type: "number", title: "Detection threshold", minimum: 0, maximum: 1, default: 0.5 },
    label: { type: "string", title: "Label" },
  },
};

describe("PluginSettingsForm", () => {
  it("orders the fields as the plugin declared them (x-order), not as the registry stored them", () => {
    const stored = { ...schema, properties: { label: schema.properties!.label, threshold: schema.properties!.threshold }, "x-order": ["threshold", "label"] };
    render(<PluginSettingsForm schema={stored as RJSFSchema} initial={{}} onSave={vi.fn()} />);
    const labels = screen.getAllByRole("textbox").concat(screen.getAllByRole("spinbutton"));
    const first = labels.sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1))[0];
    expect(first).toBe(screen.getByLabelText("Detection threshold"));
  });

  it("labels a field with its schema title", () => {
    render(<PluginSettingsForm schema={schema} initial={{ threshold: 0.3 }} onSave={vi.fn()} />);
    expect(screen.getByLabelText("Detection threshold")).toHaveValue(0.3);
    expect(screen.getByLabelText("Label")).toBeInTheDocument();
  });

  it("shows an out-of-range value's error and does not save", async () => {
    const onSave = vi.fn();
    render(<PluginSettingsForm schema={schema} initial={{ threshold: 0.3 }} onSave={onSave} />);
    const field = screen.getByLabelText("Detection threshold");
    await userEvent.clear(field);
    await userEvent.type(field, "5");
    await userEvent.click(screen.getByRole("button", { name: "Save settings" }));
    expect((await screen.findAllByText(/must be <= 1/)).length).toBeGreaterThan(0);
    expect(field.closest(".form-group")).toHaveTextContent("must be <= 1");
    expect(onSave).not.toHaveBeenCalled();
  });

  it("saves valid values", async () => {
    const onSave = vi.fn();
    render(<PluginSettingsForm schema={schema} initial={{ threshold: 0.3 }} onSave={onSave} />);
    const field = screen.getByLabelText("Detection threshold");
    await userEvent.clear(field);
    await userEvent.type(field, "0.9");
    await userEvent.click(screen.getByRole("button", { name: "Save settings" }));
    expect(onSave).toHaveBeenCalledWith(expect.objectContaining({ threshold: 0.9 }));
  });

  it("shows the API's 422 message next to its field", () => {
    const serverErrors = toErrorSchema([
      { loc: ["body", "set", "label"], msg: "'x' is too short", type: "config_schema" },
    ]);
    render(<PluginSettingsForm schema={schema} initial={{ label: "x" }} onSave={vi.fn()} serverErrors={serverErrors} />);
    const group = screen.getByLabelText("Label").closest(".form-group");
    expect(group).toHaveTextContent("'x' is too short");
  });
});

describe("toErrorSchema", () => {
  it("maps set and config locations to fields, the rest to the form", () => {
    expect(
      toErrorSchema([
        { loc: ["body", "set", "a", "b"], msg: "nested" },
        { loc: ["body", "config", "k"], msg: "bad value" },
        { loc: ["body", "set"], msg: "too big" },
        { loc: ["body", "unset", 0], msg: "not a key" },
      ]),
    ).toEqual({ a: { b: { __errors: ["nested"] } }, k: { __errors: ["bad value"] }, __errors: ["too big", "not a key"] });
  });
});

describe("the plugin settings page", () => {
  const plugin = {
    id: 3, name: "scene_tagger", display_name: "Scene Tagger", description: null, version: "1.0.0", author: null,
    plugin_type: "python", entry_point: null, install_path: null, enabled: true, source: "discovered",
    load_error: null, created_at: "", updated_at: "", metadata: { config_schema: schema }, games: null, game_config: {},
  };
  const row = { id: 1, plugin_id: 3, key: "threshold", value: 0.3, created_at: "", updated_at: "" };
  const timeout = { id: 2, plugin_id: 3, key: "timeout_s", value: 30, created_at: "", updated_at: "" };
  const backfill = (done: number) => ({
    id: 8, plugin_id: 3, plugin: "scene_tagger", total: 2, done, failed: 0, pending: 2 - done, requested_at: "",
  });

  async function renderPage() {
    vi.mocked(api.getPlugin).mockResolvedValue(plugin);
    vi.mocked(api.listConfig).mockResolvedValue([row, timeout]);
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <MemoryRouter initialEntries={["/plugins/3"]}>
          <Routes>
            <Route path="/plugins/:id" element={<PluginSettingsPage />} />
          </Routes>
        </MemoryRouter>
      </QueryClientProvider>,
    );
    return screen.findByLabelText("Detection threshold");
  }

  afterEach(() => vi.resetAllMocks());

  it("saves the form's keys in one call and shows a 422 by its field, keeping what was typed", async () => {
    vi.mocked(api.saveConfig).mockRejectedValue(
      new ApiError(422, [{ loc: ["body", "set", "label"], msg: "'x' is too short", type: "config_schema" }]),
    );
    await renderPage();
    await userEvent.type(screen.getByLabelText("Label"), "x");
    await userEvent.click(screen.getByRole("button", { name: "Save settings" }));
    expect(api.saveConfig).toHaveBeenCalledWith(3, [row, timeout], { threshold: 0.3, label: "x" }, ["threshold", "label"]);
    const group = screen.getByLabelText("Label").closest(".form-group");
    await waitFor(() => expect(group).toHaveTextContent("'x' is too short"));
    expect(screen.getByLabelText("Label")).toHaveValue("x");
    expect(screen.getByText(/Nothing was saved/)).toBeInTheDocument();
  });

  it("runs a backfill and follows it to the end", async () => {
    vi.mocked(api.startBackfill).mockResolvedValue(backfill(0));
    vi.mocked(api.getBackfill).mockResolvedValue(backfill(2));
    await renderPage();
    await userEvent.click(screen.getByRole("button", { name: "Backfill" }));
    expect(api.startBackfill).toHaveBeenCalledWith(3, "missing");
    expect(await screen.findByRole("progressbar", { name: "Backfill progress" })).toHaveAttribute("aria-valuenow", "0");
    expect(await screen.findByText("Backfill finished", {}, { timeout: 3000 })).toBeInTheDocument();
    expect(screen.getByText("2 / 2 done, 0 failed")).toBeInTheDocument();
  });

  it("redoes the clips made with another configuration", async () => {
    vi.mocked(api.startBackfill).mockResolvedValue(backfill(0));
    vi.mocked(api.getBackfill).mockResolvedValue(backfill(2));
    await renderPage();
    await userEvent.click(screen.getByRole("button", { name: "Redo clips made with another configuration" }));
    expect(api.startBackfill).toHaveBeenCalledWith(3, "other_config");
    expect(await screen.findByRole("progressbar", { name: "Backfill progress" })).toBeInTheDocument();
  });

  it.each([
    [409, "plugin 3 is disabled: enable it first", "plugin 3 is disabled: enable it first"],
    [403, "needs the admin role", "Only an admin key can run a plugin over the clips."],
  ])("shows a %i from a reprocess plainly", async (status, detail, shown) => {
    vi.mocked(api.startBackfill).mockRejectedValue(new ApiError(status, detail));
    await renderPage();
    await userEvent.click(screen.getByRole("button", { name: "Reprocess all clips" }));
    expect(api.startBackfill).toHaveBeenCalledWith(3, "all");
    expect(await screen.findByRole("alert")).toHaveTextContent(shown);
  });
});
