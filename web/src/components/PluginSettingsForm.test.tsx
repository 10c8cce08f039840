import type { RJSFSchema } from "@rjsf/utils";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { PluginSettingsForm, toErrorSchema } from "./PluginSettingsForm";

const schema: RJSFSchema = {
  title: "SceneTaggerConfig",
  type: "object",
  properties: {
    threshold: { type: "number", title: "Detection threshold", minimum: 0, maximum: 1, default: 0.5 },
    label: { type: "string", title: "Label" },
  },
};

describe("PluginSettingsForm", () => {
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
      { loc: ["body", "config", "label"], msg: "'x' is too short", type: "config_schema" },
    ]);
    render(<PluginSettingsForm schema={schema} initial={{ label: "x" }} onSave={vi.fn()} serverErrors={serverErrors} />);
    const group = screen.getByLabelText("Label").closest(".form-group");
    expect(group).toHaveTextContent("'x' is too short");
  });
});

describe("toErrorSchema", () => {
  it("maps config and single-key locations to fields", () => {
    expect(
      toErrorSchema(
        [
          { loc: ["body", "config", "a", "b"], msg: "nested" },
          { loc: ["body", "value"], msg: "bad value" },
          { loc: ["body", "config"], msg: "too big" },
        ],
        "k",
      ),
    ).toEqual({ a: { b: { __errors: ["nested"] } }, k: { __errors: ["bad value"] }, __errors: ["too big"] });
  });
});
