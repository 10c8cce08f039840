import { afterEach, describe, expect, it, vi } from "vitest";

afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

async function loadWith(fetchMock: ReturnType<typeof vi.fn>) {
  vi.stubGlobal("fetch", fetchMock);
  const client = await import("./client");
  const plugins = await import("./plugins");
  const session = await import("./session");
  return { ...client, ...plugins, ...session };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

describe("the API client", () => {
  it("sends the session's key as a bearer header", async () => {
    const fetchMock = vi.fn(async (_request: Request) => json({ items: [], total: 0, limit: 500, offset: 0 }));
    const m = await loadWith(fetchMock);
    m.setApiKey("cf_secret");
    await m.listPlugins();
    const request = fetchMock.mock.calls[0]![0];
    expect(request.headers.get("Authorization")).toBe("Bearer cf_secret");
    expect(new URL(request.url).pathname).toBe("/api/v1/plugins");
  });

  it("on a 401 forgets the key and tells the handler", async () => {
    const m = await loadWith(vi.fn(async () => json({ detail: "unknown API key" }, 401)));
    m.setApiKey("cf_old");
    const handler = vi.fn();
    m.onUnauthorized(handler);
    await expect(m.listPlugins()).rejects.toMatchObject({ status: 401 });
    expect(m.getApiKey()).toBeNull();
    expect(handler).toHaveBeenCalledWith(expect.stringContaining("unknown API key"));
  });

  it("saves what changed in one call, leaving keys outside the form alone", async () => {
    const after = [{ id: 1, plugin_id: 1, key: "threshold", value: 0.7, created_at: "", updated_at: "" }];
    const fetchMock = vi.fn(async (_request: Request) => json({ items: after }));
    const m = await loadWith(fetchMock);
    const row = (id: number, key: string, value: unknown) => ({
      id, plugin_id: 1, key, value, created_at: "", updated_at: "",
    });
    const existing = [row(1, "threshold", 0.5), row(2, "same", 1), row(3, "gone", "x"), row(4, "timeout_s", 30)];
    const saved = await m.saveConfig(1, existing, { threshold: 0.7, same: 1, label: "x" }, [
      "threshold",
      "same",
      "label",
      "gone",
    ]);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const request = fetchMock.mock.calls[0]![0];
    expect(`${request.method} ${new URL(request.url).pathname}`).toBe("PUT /api/v1/plugins/1/config");
    expect(await request.json()).toEqual({ set: { threshold: 0.7, label: "x" }, unset: ["gone"] });
    expect(saved).toEqual(after);
  });

  it("makes no call when nothing changed", async () => {
    const fetchMock = vi.fn();
    const m = await loadWith(fetchMock);
    const existing = [{ id: 1, plugin_id: 1, key: "a", value: [1, 2], created_at: "", updated_at: "" }];
    expect(await m.saveConfig(1, existing, { a: [1, 2] }, ["a"])).toBe(existing);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("throws the API's 422 with its field locations", async () => {
    const m = await loadWith(
      vi.fn(async () => json({ detail: [{ loc: ["body", "set", "label"], msg: "too short", type: "config_schema" }] }, 422)),
    );
    const error = await m.saveConfig(1, [], { label: "x" }, ["label"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(m.ApiError);
    expect((error as InstanceType<typeof m.ApiError>).entries[0]!.loc).toEqual(["body", "set", "label"]);
  });

  it("starts a backfill with its scope", async () => {
    const backfill = { id: 3, plugin_id: 1, plugin: "p", total: 2, done: 0, failed: 0, pending: 2, requested_at: "" };
    const fetchMock = vi.fn(async (_request: Request) => json(backfill, 202));
    const m = await loadWith(fetchMock);
    expect(await m.startBackfill(1, "all")).toEqual(backfill);
    const request = fetchMock.mock.calls[0]![0];
    expect(`${request.method} ${new URL(request.url).pathname}`).toBe("POST /api/v1/plugins/1/backfill");
    expect(await request.json()).toEqual({ scope: "all" });
  });
});
