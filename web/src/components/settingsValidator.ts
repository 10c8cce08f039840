/**
 * An rjsf `ValidatorType` on `@cfworker/json-schema`, which interprets schemas instead of compiling
 * them to code. `@rjsf/validator-ajv8` compiles every schema with `new Function`, which the app's
 * Content-Security-Policy (no 'unsafe-eval') forbids, so the browser refused to validate at all.
 *
 * It mirrors `@rjsf/validator-ajv8` (6.x): the same `errors` (name, property like `.threshold`,
 * message, params, stack, schemaPath, title), the same `errorSchema`, Ajv's English messages for
 * the usual keywords ("must be <= 1", "must have required property 'x'", …) and the same handling
 * of `transformErrors` and `customValidate`. What it cannot word like Ajv keeps the library's own
 * message.
 *
 * The dialect comes from the root schema's `$schema`: drafts 04, 06/07 and 2019-09 when named,
 * else 2020-12 (what the API's pydantic schemas are).
 */
import {
  dereference,
  format as formats,
  validate,
  type OutputUnit,
  type Schema,
  type SchemaDraft,
} from "@cfworker/json-schema";
import {
  ANY_OF_KEY,
  createErrorHandler,
  getByPath,
  getDefaultFormState,
  getUiOptions,
  ONE_OF_KEY,
  PROPERTIES_KEY,
  toErrorSchema,
  toPath,
  unwrapErrorHandler,
  validationDataMerge,
  type CustomValidator,
  type ErrorSchema,
  type ErrorTransformer,
  type FormContextType,
  type RJSFSchema,
  type RJSFValidationError,
  type StrictRJSFSchema,
  type UiSchema,
  type ValidationData,
  type ValidatorType,
} from "@rjsf/utils";

/** One validation error in the shape Ajv reports it; what `rawValidation` returns. */
export interface RawValidationError {
  keyword: string;
  /** JSON pointer to the value, `""` for the root (Ajv's `instancePath`). */
  instancePath: string;
  /** The same path as a list of keys. */
  path: string[];
  /** JSON pointer to the failing keyword, e.g. `#/properties/threshold/maximum`. */
  schemaPath: string;
  params: Record<string, unknown>;
  message: string;
  /** The schema that holds the failing keyword, when it could be found. */
  parentSchema?: Schema;
}

// The two formats rjsf's widgets produce; @rjsf/validator-ajv8 adds them to Ajv the same way.
const COLOR_FORMAT_REGEX =
  /^(#?([0-9A-Fa-f]{3}){1,2}\b|aqua|black|blue|fuchsia|gray|green|lime|maroon|navy|olive|orange|purple|red|silver|teal|white|yellow|(rgb\(\s*\b([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\b\s*,\s*\b([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\b\s*,\s*\b([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\b\s*\))|(rgb\(\s*(\d?\d%|100%)+\s*,\s*(\d?\d%|100%)+\s*,\s*(\d?\d%|100%)+\s*\)))$/;
const DATA_URL_FORMAT_REGEX = /^data:([a-z]+\/[a-z0-9-+.]+)?;(?:name=(.*);)?base64,(.*)$/;
formats["color"] ??= (s) => COLOR_FORMAT_REGEX.test(s);
formats["data-url"] ??= (s) => DATA_URL_FORMAT_REGEX.test(s);

/** Where `isValid` puts a sub-schema inside its root document, so the sub-schema's `#/…` refs resolve. */
const SUBSCHEMA_POINTER = "/__rjsf_subschema";
/** How many sub-schemas `isValid` keeps ready per root schema. */
const MAX_SUBSCHEMAS = 500;

interface Prepared {
  schema: Schema | boolean;
  lookup: Record<string, Schema | boolean>;
  draft: SchemaDraft;
}

interface PreparedRoot extends Prepared {
  base: URL | undefined;
  subschemas: Map<string, Prepared>;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function draftOf(schema: unknown): SchemaDraft {
  const dialect = isObject(schema) && typeof schema.$schema === "string" ? schema.$schema : "";
  if (/draft-04/.test(dialect)) return "4";
  if (/draft-0[67]/.test(dialect)) return "7";
  if (/2019-09/.test(dialect)) return "2019-09";
  return "2020-12";
}

/**
 * A JSON copy: drops `undefined` members (an unset field counts as absent, as it does for Ajv),
 * rjsf's Symbol keys and functions, and leaves the caller's objects alone (`dereference` annotates
 * the schema it is given).
 */
function jsonCopy<V>(value: unknown): V {
  const text = JSON.stringify(value);
  return (text === undefined ? null : JSON.parse(text)) as V;
}

/** The parts of a JSON pointer as @cfworker writes them (`#/a/b%20c/~1d`), still encoded. */
function pointerParts(pointer: string): string[] {
  const body = pointer.startsWith("#") ? pointer.slice(1) : pointer;
  return body === "" ? [] : body.slice(1).split("/");
}

function decodeKey(part: string): string {
  let key = part;
  try {
    key = decodeURIComponent(part);
  } catch {
    /* keep it as written */
  }
  return key.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** The keys of a JSON pointer as @cfworker writes it. */
function pointerKeys(pointer: string): string[] {
  return pointerParts(pointer).map(decodeKey);
}

function toPointer(keys: string[]): string {
  return keys.map((key) => "/" + key.replace(/~/g, "~0").replace(/\//g, "~1")).join("");
}

function isFalseSchemaChild(child: OutputUnit | undefined, parent: OutputUnit): child is OutputUnit {
  return (
    child !== undefined &&
    child.keyword === "false" &&
    pointerKeys(child.instanceLocation).length === pointerKeys(parent.instanceLocation).length + 1 &&
    child.instanceLocation.startsWith(parent.instanceLocation + "/")
  );
}

function lastKey(pointer: string): string {
  const keys = pointerKeys(pointer);
  return keys[keys.length - 1] ?? "";
}

/** The schema at a keyword location's parent, following `$ref`s the way the location went through them. */
function parentSchemaAt(prepared: Prepared, keywordLocation: string): Schema | undefined {
  const keys = pointerKeys(keywordLocation).slice(0, -1);
  let node: unknown = prepared.schema;
  for (const key of keys) {
    if (isObject(node) && key === "$ref" && typeof node.$ref === "string") {
      const schema = node as Schema;
      node = prepared.lookup[schema.__absolute_ref__ ?? schema.$ref!];
    } else if (key === "$recursiveRef") {
      return undefined;
    } else if ((isObject(node) || Array.isArray(node)) && Object.hasOwn(node, key)) {
      node = (node as Json)[key];
    } else {
      return undefined;
    }
  }
  return isObject(node) ? (node as Schema) : undefined;
}

/**
 * A keyword location as Ajv writes it: where the path goes through a `$ref` it restarts at the
 * referenced schema (`#/$defs/Limits/properties/fps/maximum`), where @cfworker keeps the way there.
 */
function toSchemaPath(prepared: Prepared, keywordLocation: string): string {
  let parts: string[] = [];
  let node: unknown = prepared.schema;
  for (const part of pointerParts(keywordLocation)) {
    if (part === "$ref" && isObject(node) && typeof node.$ref === "string") {
      const schema = node as Schema;
      node = prepared.lookup[schema.__absolute_ref__ ?? schema.$ref!];
      const uri = isObject(node) ? (node as Schema).__absolute_uri__ : undefined;
      if (uri === undefined) return keywordLocation;
      const hash = uri.indexOf("#");
      parts = hash < 0 ? [] : pointerParts(uri.slice(hash));
      continue;
    }
    if (part === "$recursiveRef") return keywordLocation;
    parts.push(part);
    const key = decodeKey(part);
    node = (isObject(node) || Array.isArray(node)) && Object.hasOwn(node, key) ? (node as Json)[key] : undefined;
  }
  return "#" + parts.map((part) => `/${part}`).join("");
}

function valueAt(instance: unknown, keys: string[]): unknown {
  let node = instance;
  for (const key of keys) {
    if ((isObject(node) || Array.isArray(node)) && Object.hasOwn(node, key)) node = (node as Json)[key];
    else return undefined;
  }
  return node;
}

const COMPARISON: Record<string, string> = {
  maximum: "<=",
  minimum: ">=",
  exclusiveMaximum: "<",
  exclusiveMinimum: ">",
};

/** Keywords that only say "something under me failed"; the errors that follow say what. */
const WRAPPERS = new Set([
  "properties",
  "patternProperties",
  "prefixItems",
  "items",
  "additionalItems",
  "unevaluatedItems",
  "additionalProperties",
  "unevaluatedProperties",
  "$ref",
  "$recursiveRef",
  "allOf",
  "dependentSchemas",
]);

/**
 * @cfworker's flat list of output units as Ajv-style errors: wrappers dropped, `false` sub-schemas
 * folded into the keyword that holds them, and Ajv's messages and params for the keywords it knows.
 */
export function toRawErrors(units: OutputUnit[], prepared: Prepared, instance: unknown): RawValidationError[] {
  const out: RawValidationError[] = [];
  for (let i = 0; i < units.length; i++) {
    const unit = units[i]!;
    const next = units[i + 1];
    const path = pointerKeys(unit.instanceLocation);
    let keyword = unit.keyword;
    let schemaPath = unit.keywordLocation;
    const parent = unit.keyword === "false" ? undefined : parentSchemaAt(prepared, unit.keywordLocation);
    let params: Record<string, unknown> = {};
    let message: string | undefined;

    switch (unit.keyword) {
      case "additionalProperties":
      case "unevaluatedProperties":
        if (!isFalseSchemaChild(next, unit)) continue;
        i++;
        if (unit.keyword === "additionalProperties") {
          params = { additionalProperty: lastKey(next.instanceLocation) };
          message = "must NOT have additional properties";
        } else {
          params = { unevaluatedProperty: lastKey(next.instanceLocation) };
          message = "must NOT have unevaluated properties";
        }
        break;
      case "items":
      case "additionalItems":
      case "unevaluatedItems": {
        if (!isFalseSchemaChild(next, unit)) continue;
        i++;
        const limit = Number(lastKey(next.instanceLocation));
        params = { limit };
        message = `must NOT have more than ${limit} items`;
        break;
      }
      case "dependencies":
      case "dependentRequired": {
        // The schema form of `dependencies` only wraps the errors that follow; the list form is a missing property.
        if (/dependant schema\.$/.test(unit.error)) continue;
        schemaPath = schemaPath.replace(/dependantRequired$/, "dependentRequired");
        const match = /^Instance has "(.*)" but does not have "(.*)"\.$/s.exec(unit.error);
        if (!match) break;
        const [, property, missingProperty] = match;
        const listed = (parent?.[unit.keyword] as Record<string, unknown> | undefined)?.[property!];
        const deps = Array.isArray(listed) ? listed.map(String) : [missingProperty!];
        params = { property, missingProperty, depsCount: deps.length, deps: deps.join(", ") };
        message = `must have ${deps.length === 1 ? "property" : "properties"} ${deps.join(", ")} when property ${property} is present`;
        break;
      }
      case "false": {
        keyword = "false schema";
        message = "boolean schema is false";
        // @cfworker gives a false schema's location as the value's; the wrapper before it has the real one.
        const previous = units[i - 1];
        if (previous?.keyword === "properties" && unit.instanceLocation.startsWith(previous.instanceLocation + "/")) {
          schemaPath = `${previous.keywordLocation}/${unit.instanceLocation.slice(previous.instanceLocation.length + 1)}`;
        }
        break;
      }
      case "type":
        if (parent?.type === undefined) break;
        params = { type: parent.type };
        message = `must be ${String(parent.type)}`;
        break;
      case "maximum":
      case "minimum":
      case "exclusiveMaximum":
      case "exclusiveMinimum": {
        const limit = parent?.[unit.keyword];
        if (typeof limit !== "number") break;
        let comparison = COMPARISON[unit.keyword]!;
        // Draft 04: a boolean exclusiveMaximum/exclusiveMinimum makes maximum/minimum strict.
        if (unit.keyword === "maximum" && parent?.exclusiveMaximum === true) comparison = "<";
        if (unit.keyword === "minimum" && parent?.exclusiveMinimum === true) comparison = ">";
        params = { comparison, limit };
        message = `must be ${comparison} ${limit}`;
        break;
      }
      case "multipleOf":
        if (typeof parent?.multipleOf !== "number") break;
        params = { multipleOf: parent.multipleOf };
        message = `must be multiple of ${parent.multipleOf}`;
        break;
      case "minLength":
      case "maxLength":
      case "minItems":
      case "maxItems":
      case "minProperties":
      case "maxProperties": {
        const limit = parent?.[unit.keyword];
        if (typeof limit !== "number") break;
        const comp = unit.keyword.startsWith("max") ? "more" : "fewer";
        const what = unit.keyword.endsWith("Length") ? "characters" : unit.keyword.endsWith("Items") ? "items" : "properties";
        params = { limit };
        message = `must NOT have ${comp} than ${limit} ${what}`;
        break;
      }
      case "pattern":
        if (typeof parent?.pattern !== "string") break;
        params = { pattern: parent.pattern };
        message = `must match pattern "${parent.pattern}"`;
        break;
      case "format":
        if (typeof parent?.format !== "string") break;
        params = { format: parent.format };
        message = `must match format "${parent.format}"`;
        break;
      case "enum":
        params = { allowedValues: parent?.enum };
        message = "must be equal to one of the allowed values";
        break;
      case "const":
        params = { allowedValue: parent?.const };
        message = "must be equal to constant";
        break;
      case "required": {
        const match = /^Instance does not have required property "(.*)"\.$/s.exec(unit.error);
        if (!match) break;
        params = { missingProperty: match[1] };
        message = `must have required property '${match[1]}'`;
        break;
      }
      case "uniqueItems": {
        const match = /indexes (\d+) and (\d+)/.exec(unit.error);
        if (!match) break;
        const [low, high] = [Number(match[1]), Number(match[2])];
        params = { i: low, j: high };
        message = `must NOT have duplicate items (items ## ${high} and ${low} are identical)`;
        break;
      }
      case "anyOf":
        message = "must match a schema in anyOf";
        break;
      case "oneOf": {
        let passing: number[] = [];
        if (Array.isArray(parent?.oneOf)) {
          const value = valueAt(instance, path);
          const matches = (option: Schema) => {
            try {
              return validate(value, option, prepared.draft, prepared.lookup).valid;
            } catch {
              return false;
            }
          };
          passing = parent.oneOf.flatMap((option, index) => (matches(option) ? [index] : []));
        }
        params = { passingSchemas: passing.length > 1 ? passing.slice(0, 2) : null };
        message = "must match exactly one schema in oneOf";
        break;
      }
      case "not":
        message = "must NOT be valid";
        break;
      case "if": {
        const failingKeyword = /"else"/.test(unit.error) ? "else" : "then";
        params = { failingKeyword };
        message = `must match "${failingKeyword}" schema`;
        break;
      }
      case "contains":
      case "minContains":
      case "maxContains": {
        keyword = "contains";
        schemaPath = schemaPath.replace(/(min|max)Contains$/, "contains");
        const min = typeof parent?.minContains === "number" ? parent.minContains : 1;
        const max = typeof parent?.maxContains === "number" ? parent.maxContains : undefined;
        params = max === undefined ? { minContains: min } : { minContains: min, maxContains: max };
        message =
          max === undefined
            ? `must contain at least ${min} valid item(s)`
            : `must contain at least ${min} and no more than ${max} valid item(s)`;
        break;
      }
      case "propertyNames":
        params = { propertyName: next ? lastKey(next.instanceLocation) : undefined };
        message = "property name must be valid";
        break;
      default:
        if (WRAPPERS.has(unit.keyword)) continue;
    }

    out.push({
      keyword,
      instancePath: toPointer(path),
      path,
      schemaPath: toSchemaPath(prepared, schemaPath),
      params,
      message: message ?? unit.error,
      parentSchema: parent,
    });
  }
  return out;
}

/** rjsf-ajv8's `filterDuplicateErrors`: the same message twice under one `anyOf`/`oneOf` shows once. */
function filterDuplicateErrors(errors: RJSFValidationError[]): RJSFValidationError[] {
  return errors.reduce<RJSFValidationError[]>((kept, error) => {
    const { message, schemaPath = "" } = error;
    const anyOfIndex = schemaPath.indexOf(`/${ANY_OF_KEY}/`);
    const oneOfIndex = schemaPath.indexOf(`/${ONE_OF_KEY}/`);
    const prefix = anyOfIndex >= 0 ? schemaPath.slice(0, anyOfIndex) : oneOfIndex >= 0 ? schemaPath.slice(0, oneOfIndex) : "";
    const duplicate = prefix && kept.some((e) => e.message === message && e.schemaPath?.startsWith(prefix));
    if (!duplicate) kept.push(error);
    return kept;
  }, []);
}

/** rjsf-ajv8's `transformRJSFValidationErrors`: properties, titles in messages, stacks. */
export function toRJSFErrors<T = any, S extends StrictRJSFSchema = RJSFSchema, F extends FormContextType = any>(
  raw: RawValidationError[],
  uiSchema?: UiSchema<T, S, F>,
  schema?: S,
): RJSFValidationError[] {
  const errors = raw.map((error): RJSFValidationError => {
    const { keyword, path, params, schemaPath, parentSchema } = error;
    let { message } = error;
    let property = path.map((key) => `.${key}`).join("");
    let stack = `${property} ${message}`.trim();
    let uiTitle = "";
    const names = [
      ...(typeof params.deps === "string" ? params.deps.split(", ") : []),
      params.missingProperty,
      params.property,
    ].filter((name): name is string => typeof name === "string" && name !== "");

    if (names.length > 0) {
      for (const name of names) {
        const fieldPath = property ? `${property}.${name}` : name;
        let title = getUiOptions<T, S, F>(getByPath<UiSchema<T, S, F> | undefined>(uiSchema, toPath(fieldPath))).title;
        if (title === undefined) {
          const uiPath = schemaPath.replace(/\/properties\//g, "/").split("/").slice(1, -1).concat([name]);
          title = getUiOptions<T, S, F>(getByPath<UiSchema<T, S, F> | undefined>(uiSchema, uiPath)).title;
        }
        if (title === undefined) {
          title = getByPath<string | undefined>(uiSchema, [...path, name, "title"]);
        }
        if (title) {
          message = message.replace(`'${name}'`, `'${title}'`);
          uiTitle = title;
        } else {
          const parentTitle = getByPath<string | undefined>(parentSchema, [PROPERTIES_KEY, name, "title"]);
          if (parentTitle) {
            message = message.replace(`'${name}'`, `'${parentTitle}'`);
            uiTitle = parentTitle;
          } else if (schema) {
            const rootPath: string[] = [];
            for (const key of path) rootPath.push(PROPERTIES_KEY, key);
            rootPath.push(PROPERTIES_KEY, name, "title");
            const rootTitle = getByPath<string | undefined>(schema, rootPath);
            if (rootTitle) {
              message = message.replace(`'${name}'`, `'${rootTitle}'`);
              uiTitle = rootTitle;
            }
          }
        }
      }
      stack = message;
    } else {
      const title = getUiOptions<T, S, F>(getByPath<UiSchema<T, S, F> | undefined>(uiSchema, toPath(property))).title;
      if (title) {
        stack = `'${title}' ${message}`.trim();
        uiTitle = title;
      } else if (typeof parentSchema?.title === "string" && parentSchema.title) {
        stack = `'${parentSchema.title}' ${message}`.trim();
        uiTitle = parentSchema.title;
      }
    }

    if ("missingProperty" in params) {
      property = property ? `${property}.${String(params.missingProperty)}` : String(params.missingProperty);
    }
    return { name: keyword, property, message, params, stack, schemaPath, title: uiTitle };
  });
  return filterDuplicateErrors(errors);
}

/**
 * Whether Ajv would take `undefined` (no value at all, which @cfworker cannot be given): every
 * `type`, `const` and `enum` refuses it and the other keywords only look at values of their type.
 */
function acceptsUndefined(schema: Schema | boolean | undefined, prepared: Prepared, depth = 0): boolean {
  if (typeof schema === "boolean") return schema;
  if (schema === undefined || depth > 100) return false;
  const accepts = (sub: Schema | boolean | undefined) => acceptsUndefined(sub, prepared, depth + 1);
  if (schema.$ref !== undefined) {
    if (!accepts(prepared.lookup[schema.__absolute_ref__ ?? schema.$ref])) return false;
    if (prepared.draft === "4" || prepared.draft === "7") return true;
  }
  if ("type" in schema || "const" in schema || "enum" in schema) return false;
  if (schema.not !== undefined && accepts(schema.not)) return false;
  if (schema.allOf && !schema.allOf.every(accepts)) return false;
  if (schema.anyOf && !schema.anyOf.some(accepts)) return false;
  if (schema.oneOf && schema.oneOf.filter(accepts).length !== 1) return false;
  if (schema.if !== undefined) {
    const branch = accepts(schema.if) ? schema.then : schema.else;
    if (branch !== undefined && !accepts(branch)) return false;
  }
  return true;
}

export class SettingsValidator<T = any, S extends StrictRJSFSchema = RJSFSchema, F extends FormContextType = any>
  implements ValidatorType<T, S, F>
{
  private roots = new WeakMap<object, PreparedRoot>();

  reset() {
    this.roots = new WeakMap();
  }

  private prepareRoot(rootSchema: S): PreparedRoot {
    const cached = this.roots.get(rootSchema);
    if (cached) return cached;
    const schema = jsonCopy<Schema | boolean>(rootSchema);
    const lookup = dereference(schema);
    const uri = isObject(schema) ? schema.__absolute_uri__ : undefined;
    const prepared: PreparedRoot = {
      schema,
      lookup,
      draft: draftOf(rootSchema),
      base: uri ? new URL(uri) : undefined,
      subschemas: new Map(),
    };
    if (typeof rootSchema === "object" && rootSchema !== null) this.roots.set(rootSchema, prepared);
    return prepared;
  }

  /** A sub-schema of `root` (an `anyOf` option, an `if`, …), placed inside it so its `#/…` refs resolve. */
  private prepareSubschema(root: PreparedRoot, subschema: S): Prepared {
    const text = JSON.stringify(subschema) ?? "true";
    const cached = root.subschemas.get(text);
    if (cached) return cached;
    let prepared: Prepared;
    try {
      const schema = JSON.parse(text) as Schema | boolean;
      const lookup = Object.assign(Object.create(null) as Record<string, Schema | boolean>, root.lookup);
      dereference(schema, lookup, root.base, SUBSCHEMA_POINTER);
      prepared = { schema, lookup, draft: root.draft };
    } catch {
      // E.g. it repeats an `$id` of the root's: then it stands on its own.
      const schema = JSON.parse(text) as Schema | boolean;
      prepared = { schema, lookup: dereference(schema), draft: root.draft };
    }
    if (root.subschemas.size >= MAX_SUBSCHEMAS) root.subschemas.delete(root.subschemas.keys().next().value!);
    root.subschemas.set(text, prepared);
    return prepared;
  }

  rawValidation<Result = any>(schema: S, formData?: T): { errors?: Result[]; validationError?: Error } {
    try {
      const prepared = this.prepareRoot(schema);
      const instance = jsonCopy<unknown>(formData);
      const result = validate(instance, prepared.schema, prepared.draft, prepared.lookup, false);
      const errors = toRawErrors(result.errors, prepared, instance);
      return { errors: errors.length > 0 ? (errors as Result[]) : undefined };
    } catch (error) {
      return { validationError: error instanceof Error ? error : new Error(String(error)) };
    }
  }

  validateFormData(
    formData: T | undefined,
    schema: S,
    customValidate?: CustomValidator<T, S, F>,
    transformErrors?: ErrorTransformer<T, S, F>,
    uiSchema?: UiSchema<T, S, F>,
  ): ValidationData<T> {
    const raw = this.rawValidation<RawValidationError>(schema, formData);
    const invalidSchemaError = raw.validationError;
    let errors = toRJSFErrors<T, S, F>(raw.errors ?? [], uiSchema, schema);
    if (invalidSchemaError) errors = [...errors, { stack: invalidSchemaError.message }];
    if (typeof transformErrors === "function") errors = transformErrors(errors, uiSchema);

    let errorSchema = toErrorSchema<T>(errors);
    if (invalidSchemaError) {
      errorSchema = { ...errorSchema, $schema: { __errors: [invalidSchemaError.message] } } as ErrorSchema<T>;
    }
    if (typeof customValidate !== "function") return { errors, errorSchema };

    // Include form data with undefined values, which custom validation needs (as rjsf-ajv8 does).
    const newFormData = getDefaultFormState<T, S, F>(this, schema, formData, schema, true) as T;
    const errorHandler = customValidate(newFormData, createErrorHandler<T>(newFormData), uiSchema, errorSchema);
    return validationDataMerge<T>({ errors, errorSchema }, unwrapErrorHandler<T>(errorHandler));
  }

  isValid(schema: S, formData: T | undefined, rootSchema: S): boolean {
    try {
      const rootDocument = rootSchema ?? schema;
      const root = this.prepareRoot(rootDocument);
      const prepared = schema === rootDocument ? root : this.prepareSubschema(root, schema);
      if (formData === undefined) return acceptsUndefined(prepared.schema, prepared);
      return validate(jsonCopy<unknown>(formData), prepared.schema, prepared.draft, prepared.lookup, true).valid;
    } catch (error) {
      console.warn("Error encountered validating schema:", error);
      return false;
    }
  }
}

/** The validator the settings form uses; it keeps no state but its caches. */
export const settingsValidator = new SettingsValidator<Record<string, unknown>>();
