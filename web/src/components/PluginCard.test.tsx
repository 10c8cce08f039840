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
    ["wasm", "wasm"],
  ])("labels the type %s as %s", (type, label) => {
    renderCard(plugin({ plugin_type: type }));
    expect(screen.getByText(label)).toBeInTheDocument();
  });

  it("shows a load error plainly", () => {
    renderCard(plugin({ load_error: "ImportError: no module named cv2" }));
    expect(screen.getByText("Load error")).toBeInTheDocument();
    expect(screen.getByText("ImportError: no module named cv2")).toBeInTheDocument();
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
});
