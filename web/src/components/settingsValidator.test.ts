import {
  getClosestMatchingOption,
  getFirstMatchingOption,
  retrieveSchema,
  type RJSFSchema,
  type RJSFValidationError,
} from "@rjsf/utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SettingsValidator } from "./settingsValidator";

const validator = new SettingsValidator();

const schema: RJSFSchema = {
  title: "SceneTaggerConfig",
  type: "object",
  properties: {
    threshold: { type: "number", title: "Detection threshold", minimum: 0, maximum: 1, default: 0.5 },
    label: { type: "string", title: "Label", minLength: 2, maxLength: 5, pattern: "^[a-z]+$" },
    mode: { enum: ["fast", "accurate"] },
    version: { const: 2 },
    retries: { type: "integer", multipleOf: 2, exclusiveMaximum: 10 },
    email: { type: "string", format: "email" },
    tags: { type: "array", items: { type: "string", minLength: 1 }, minItems: 1, maxItems: 2 },
  },
  required: ["threshold"],
};

function only(errors: RJSFValidationError[]) {
  expect(errors).toHaveLength(1);
  return errors[0]!;
}

afterEach(() => vi.restoreAllMocks());

describe("validateFormData", () => {
  it("passes valid data", () => {
    const data = { threshold: 0.3, label: "abc", mode: "fast", version: 2, retries: 4, email: "a@b.co", tags: ["x"] };
    expect(validator.validateFormData(data, schema)).toEqual({ errors: [], errorSchema: {} });
  });

  it("puts an out-of-range number on its property, worded as Ajv did", () => {
    const { errors, errorSchema } = validator.validateFormData({ threshold: 5 }, schema);
    expect(only(errors)).toEqual({
      name: "maximum",
      property: ".threshold",
      message: "must be <= 1",
      params: { comparison: "<=", limit: 1 },
      stack: "'Detection threshold' must be <= 1",
      schemaPath: "#/properties/threshold/maximum",
      title: "Detection threshold",
    });
    expect(errorSchema).toEqual({ threshold: { __errors: ["must be <= 1"] } });
    expect(only(validator.validateFormData({ threshold: -1 }, schema).errors).message).toBe("must be >= 0");
  });

  it("reports a missing required property on that property, with its title", () => {
    const { errors, errorSchema } = validator.validateFormData({}, schema);
    expect(only(errors)).toMatchObject({
      name: "required",
      property: "threshold", // sic: Ajv's adapter writes a top-level one without the dot
      message: "must have required property 'Detection threshold'",
      params: { missingProperty: "threshold" },
      stack: "must have required property 'Detection threshold'",
      schemaPath: "#/required",
    });
    expect(errorSchema).toEqual({ threshold: { __errors: ["must have required property 'Detection threshold'"] } });
    const untitled: RJSFSchema = { type: "object", properties: { x: { type: "string" } }, required: ["x"] };
    expect(only(validator.validateFormData({}, untitled).errors).message).toBe("must have required property 'x'");
  });

  it("treats an unset (undefined) field as absent", () => {
    const { errors } = validator.validateFormData({ threshold: undefined, label: undefined }, schema);
    expect(only(errors).message).toBe("must have required property 'Detection threshold'");
  });

  it("reports a wrong type", () => {
    expect(only(validator.validateFormData({ threshold: "high" }, schema).errors)).toMatchObject({
      name: "type",
      property: ".threshold",
      message: "must be number",
      params: { type: "number" },
    });
    const counts: RJSFSchema = { type: "object", properties: { n: { type: "integer" } } };
    expect(only(validator.validateFormData({ n: 2.5 }, counts).errors).message).toBe("must be integer");
    const nullable: RJSFSchema = { type: "object", properties: { a: { type: ["string", "null"] } } };
    expect(only(validator.validateFormData({ a: 1 }, nullable).errors).message).toBe("must be string,null");
  });

  it.each([
    [{ label: "a" }, ".label", "minLength", "must NOT have fewer than 2 characters"],
    [{ label: "abcdef" }, ".label", "maxLength", "must NOT have more than 5 characters"],
    [{ label: "AB" }, ".label", "pattern", 'must match pattern "^[a-z]+$"'],
    [{ mode: "slow" }, ".mode", "enum", "must be equal to one of the allowed values"],
    [{ version: 3 }, ".version", "const", "must be equal to constant"],
    [{ retries: 3 }, ".retries", "multipleOf", "must be multiple of 2"],
    [{ retries: 10 }, ".retries", "exclusiveMaximum", "must be < 10"],
    [{ email: "nope" }, ".email", "format", 'must match format "email"'],
    [{ tags: [] }, ".tags", "minItems", "must NOT have fewer than 1 items"],
    [{ tags: ["a", "b", "c"] }, ".tags", "maxItems", "must NOT have more than 2 items"],
    [{ tags: ["a", ""] }, ".tags.1", "minLength", "must NOT have fewer than 1 characters"],
  ])("words %j like Ajv", (data, property, name, message) => {
    const { errors } = validator.validateFormData({ threshold: 0.5, ...data }, schema);
    expect(only(errors)).toMatchObject({ name, property, message });
  });

  it("reports every error, not just the first", () => {
    const { errors } = validator.validateFormData({ threshold: 2, label: "A", mode: "x" }, schema);
    expect(errors.map((e) => [e.property, e.message])).toEqual([
      [".threshold", "must be <= 1"],
      [".label", "must NOT have fewer than 2 characters"],
      [".label", 'must match pattern "^[a-z]+$"'],
      [".mode", "must be equal to one of the allowed values"],
    ]);
  });

  it("follows nested objects and $refs to the right property path", () => {
    const nested: RJSFSchema = {
      type: "object",
      $defs: {
        Limits: {
          type: "object",
          properties: { max_fps: { type: "integer", maximum: 60 }, codec: { type: "string" } },
          required: ["codec"],
        },
      },
      properties: {
        output: {
          type: "object",
          properties: { limits: { $ref: "#/$defs/Limits" }, name: { type: "string" } },
        },
      },
    };
    const { errors, errorSchema } = validator.validateFormData({ output: { limits: { max_fps: 120 } } }, nested);
    expect(errors.map((e) => [e.property, e.message, e.schemaPath])).toEqual([
      // As Ajv writes them: a path through a $ref starts again at the schema it names.
      [".output.limits.codec", "must have required property 'codec'", "#/$defs/Limits/required"],
      [".output.limits.max_fps", "must be <= 60", "#/$defs/Limits/properties/max_fps/maximum"],
    ]);
    expect(errorSchema).toEqual({
      output: {
        limits: {
          codec: { __errors: ["must have required property 'codec'"] },
          max_fps: { __errors: ["must be <= 60"] },
        },
      },
    });
  });

  it("reports extra properties on the object, as Ajv does", () => {
    const closed: RJSFSchema = { type: "object", properties: { a: { type: "string" } }, additionalProperties: false };
    const { errors, errorSchema } = validator.validateFormData({ a: "x", b: 1 }, closed);
    expect(only(errors)).toMatchObject({
      name: "additionalProperties",
      property: "",
      message: "must NOT have additional properties",
      params: { additionalProperty: "b" },
      schemaPath: "#/additionalProperties",
    });
    expect(errorSchema).toEqual({ __errors: ["must NOT have additional properties"] });
  });

  it("reports anyOf and oneOf failures once per message", () => {
    const choice: RJSFSchema = {
      type: "object",
      properties: {
        size: { anyOf: [{ type: "integer", minimum: 1 }, { type: "null" }] },
        shape: { oneOf: [{ type: "string" }, { type: "string", maxLength: 3 }] },
      },
    };
    const { errors } = validator.validateFormData({ size: 0, shape: "ab" }, choice);
    const messages = errors.map((e) => [e.property, e.message]);
    expect(messages).toContainEqual([".size", "must match a schema in anyOf"]);
    expect(messages).toContainEqual([".size", "must be >= 1"]);
    expect(messages).toContainEqual([".size", "must be null"]);
    expect(messages).toContainEqual([".shape", "must match exactly one schema in oneOf"]);
    expect(errors.find((e) => e.name === "oneOf")?.params).toEqual({ passingSchemas: [0, 1] });
    expect(validator.validateFormData({ size: null, shape: "abcd" }, choice).errors).toEqual([]);
  });

  it("names the draft: a draft-04 boolean exclusiveMaximum", () => {
    const draft4: RJSFSchema = {
      $schema: "http://json-schema.org/draft-04/schema#",
      type: "object",
      properties: { p: { type: "number", maximum: 1, exclusiveMaximum: true as never } },
    };
    expect(only(validator.validateFormData({ p: 1 }, draft4).errors).message).toBe("must be < 1");
  });

  it("applies transformErrors, then customValidate", () => {
    const { errors, errorSchema } = validator.validateFormData(
      { threshold: 5, label: "ab" },
      schema,
      (data, handler) => {
        if (data?.label === "ab") handler.label?.addError("label is taken");
        return handler;
      },
      (list) => list.map((e) => ({ ...e, message: `${e.message}!` })),
    );
    expect(errors.map((e) => e.message ?? e.stack)).toEqual(["must be <= 1!", "label is taken"]);
    expect(errorSchema.threshold).toEqual({ __errors: ["must be <= 1!"] });
    expect(errorSchema.label).toEqual({ __errors: ["label is taken"] });
  });

  it("uses a ui:title in messages and stacks", () => {
    const { errors } = validator.validateFormData({}, schema, undefined, undefined, {
      threshold: { "ui:title": "Cut-off" },
    });
    expect(only(errors).message).toBe("must have required property 'Cut-off'");
  });

  it("reports a schema it cannot use above the form, like Ajv's compile error", () => {
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const broken: RJSFSchema = { type: "object", properties: { a: { $ref: "#/$defs/Missing" } } };
    const { errors, errorSchema } = validator.validateFormData({ a: 1 }, broken);
    expect(only(errors).stack).toMatch(/Unresolved \$ref/);
    expect(errorSchema.$schema?.__errors?.[0]).toMatch(/Unresolved \$ref/);
    expect(validator.isValid({ $ref: "#/$defs/Missing" }, 1, broken)).toBe(false);
  });
});

describe("isValid, as rjsf uses it to pick anyOf/oneOf options", () => {
  // What pydantic writes for `Optional[Limits]` and a tagged union.
  const root: RJSFSchema = {
    type: "object",
    $defs: {
      Limits: { type: "object", properties: { fps: { type: "integer", maximum: 60 } }, required: ["fps"] },
      Fast: { type: "object", properties: { kind: { const: "fast" }, budget: { type: "number" } }, required: ["kind"] },
      Exact: { type: "object", properties: { kind: { const: "exact" }, passes: { type: "integer" } }, required: ["kind"] },
    },
    properties: {
      limits: { anyOf: [{ $ref: "#/$defs/Limits" }, { type: "null" }], default: null },
      strategy: { oneOf: [{ $ref: "#/$defs/Fast" }, { $ref: "#/$defs/Exact" }] },
    },
  };
  const limitsOptions = (root.properties!.limits as RJSFSchema).anyOf as RJSFSchema[];
  const strategyOptions = (root.properties!.strategy as RJSFSchema).oneOf as RJSFSchema[];

  it("resolves an option's $ref against the root schema", () => {
    expect(validator.isValid(limitsOptions[0]!, { fps: 30 }, root)).toBe(true);
    expect(validator.isValid(limitsOptions[0]!, { fps: 90 }, root)).toBe(false);
    expect(validator.isValid(limitsOptions[1]!, { fps: 30 }, root)).toBe(false);
    expect(validator.isValid(limitsOptions[1]!, null, root)).toBe(true);
    expect(validator.isValid(root, { limits: { fps: 90 } }, root)).toBe(false);
  });

  it("takes no value (undefined) the way Ajv does", () => {
    expect(validator.isValid({}, undefined, root)).toBe(true);
    expect(validator.isValid({ properties: { a: { type: "string" } } }, undefined, root)).toBe(true);
    expect(validator.isValid({ type: "null" }, undefined, root)).toBe(false);
    expect(validator.isValid({ const: null }, undefined, root)).toBe(false);
    expect(validator.isValid({ not: { type: "string" } }, undefined, root)).toBe(true);
    expect(validator.isValid(limitsOptions[0]!, undefined, root)).toBe(false);
  });

  it("lets rjsf pick the matching option", () => {
    expect(getFirstMatchingOption(validator, { kind: "exact", passes: 2 }, strategyOptions, root)).toBe(1);
    expect(getFirstMatchingOption(validator, { kind: "fast" }, strategyOptions, root)).toBe(0);
    expect(getClosestMatchingOption(validator, root, { kind: "exact" }, strategyOptions, 0)).toBe(1);
    expect(getFirstMatchingOption(validator, null, limitsOptions, root)).toBe(1);
  });

  it("decides if/then/else the way rjsf's retrieveSchema needs", () => {
    const conditional: RJSFSchema = {
      type: "object",
      properties: { mode: { enum: ["auto", "manual"] } },
      if: { properties: { mode: { const: "manual" } } },
      then: { properties: { value: { type: "number" } } },
      else: { properties: { auto_level: { type: "integer" } } },
    };
    const manual = retrieveSchema(validator, conditional, conditional, { mode: "manual" });
    expect(Object.keys(manual.properties ?? {})).toEqual(["mode", "value"]);
    const auto = retrieveSchema(validator, conditional, conditional, { mode: "auto" });
    expect(Object.keys(auto.properties ?? {})).toEqual(["mode", "auto_level"]);
  });

  it("never evaluates strings as code (the page's CSP has no 'unsafe-eval')", () => {
    const fresh = new SettingsValidator();
    const refuse = () => {
      throw new EvalError("Evaluating a string as JavaScript violates the Content Security Policy");
    };
    vi.stubGlobal("Function", refuse);
    vi.stubGlobal("eval", refuse);
    try {
      expect(only(fresh.validateFormData({ threshold: 5 }, schema).errors).message).toBe("must be <= 1");
      expect(fresh.isValid(strategyOptions[1]!, { kind: "exact" }, root)).toBe(true);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
