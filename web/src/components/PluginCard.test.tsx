import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";
import { describe, expect, it, vi } from "vitest";
import type { Plugin } from "../api/client";
import { PluginCard } from "./PluginCard";

function plugin(overrides: Partial<Plugin> = {}): Plugin {
  return {
    id: 7,
    name: "scene_tagger",
    display_name: "Scene Tagger",
    description: "Tags the scenes of a clip",
    version: "1.2.0",
    author: "Ada",
    plugin_type: "cpp",
    entry_point: null,
    install_path: null,
    enabled: false,
    metadata: {},
    source: "discovered",
    load_error: null,
    games: null,
    game_config: {},
    created_at: "2024-01-01T00:00:00Z",
    updated_at: "2024-01-01T00:00:00Z",
    ...overrides,
  };
}

function renderCard(p: Plugin, onToggle = vi.fn()) {
  render(
    <MemoryRouter>
      <PluginCard plugin={p} onToggle={onToggle} />
    </MemoryRouter>,
  );
  return onToggle;
}

describe("PluginCard", () => {
  it("shows the plugin's fields", () => {
    renderCard(plugin());
    expect(screen.getByRole("heading", { name: "Scene Tagger" })).toBeInTheDocument();
    expect(screen.getByText("1.2.0")).toBeInTheDocument();
    expect(screen.getByText("C++")).toBeInTheDocument();
    expect(screen.getByText("Ada")).toBeInTheDocument();
    expect(screen.getByText("Tags the scenes of a clip")).toBeInTheDocument();
    expect(screen.getByText("discovered")).toBeInTheDocument();
    expect(screen.queryByText("Load error")).not.toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Settings for Scene Tagger" })).toHaveAttribute("href", "/plugins/7");
  });

  it.each([
    ["python", "Python"],
    ["rust", "Rust"],
    ["native", "Native"],
    ["go", "Go"],
    ["zig", "zig"],
  ])("labels the type %s as %s", (type, label) => {
    renderCard(plugin({ plugin_type: type }));
    expect(screen.getByText(label)).toBeInTheDocument();
  });

  it("shows a load error plainly, as an alert", () => {
    renderCard(plugin({ load_error: "ImportError: no module named cv2" }));
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("Load error");
    expect(alert).toHaveTextContent("ImportError: no module named cv2");
  });

  it("sums up the recent runs", () => {
    renderCard(
      plugin({ recent_runs: { runs: 100, ok: 98, error: 1, timeout: 1, skipped: 0, median_ms: 12.4 } }),
    );
    expect(screen.getByText("Last 100 runs: 98 ok · 1 error · 1 timeout · median 12 ms")).toBeInTheDocument();
  });

  it.each([
    [null, "No runs yet"],
    [undefined, "No runs yet"],
    [{ runs: 0, ok: 0, error: 0, timeout: 0, skipped: 0, median_ms: null }, "No runs yet"],
    [{ runs: 1, ok: 0, error: 0, timeout: 0, skipped: 1, median_ms: null }, "Last 1 run: 0 ok · 0 errors · 0 timeouts · 1 skipped"],
    [{ runs: 3, ok: 3, error: 0, timeout: 0, skipped: 0, median_ms: 2500 }, "Last 3 runs: 3 ok · 0 errors · 0 timeouts · median 2.5 s"],
  ])("words the runs %j as %s", (recent_runs, text) => {
    renderCard(plugin({ recent_runs }));
    expect(screen.getByText(text)).toBeInTheDocument();
  });

  it("has a switch named after the plugin that calls the toggle", async () => {
    const onToggle = renderCard(plugin({ enabled: false }));
    const toggle = screen.getByRole("switch", { name: "Enable Scene Tagger" });
    expect(toggle).not.toBeChecked();
    await userEvent.click(toggle);
    expect(onToggle).toHaveBeenCalledWith(true);
  });

  it("turns an enabled plugin off, from the keyboard too", async () => {
    const onToggle = renderCard(plugin({ enabled: true }));
    const toggle = screen.getByRole("switch", { name: "Enable Scene Tagger" });
    expect(toggle).toBeChecked();
    await userEvent.tab();
    expect(toggle).toHaveFocus();
    await userEvent.keyboard(" ");
    expect(onToggle).toHaveBeenCalledWith(false);
  });

  it("keeps the switch focusable but inert while a change is on its way", async () => {
    const onToggle = vi.fn();
    render(
      <MemoryRouter>
        <PluginCard plugin={plugin({ enabled: true })} onToggle={onToggle} pending />
      </MemoryRouter>,
    );
    const toggle = screen.getByRole("switch", { name: "Enable Scene Tagger" });
    expect(toggle).toHaveAttribute("aria-disabled", "true");
    await userEvent.click(toggle);
    expect(onToggle).not.toHaveBeenCalled();
    expect(toggle).toBeChecked();
  });
});
