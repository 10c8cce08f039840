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

  it("saves only what changed, and names the key a 422 came from", async () => {
    const fetchMock = vi.fn(async (request: Request) =>
      request.method === "POST"
        ? json({ detail: [{ loc: ["body", "config", "label"], msg: "too short", type: "config_schema" }] }, 422)
        : json({}),
    );
    const m = await loadWith(fetchMock);
    const row = (id: number, key: string, value: unknown) => ({
      id, plugin_id: 1, key, value, created_at: "", updated_at: "",
    });
    const error = await m
      .saveConfig(1, [row(1, "threshold", 0.5), row(2, "same", 1)], { threshold: 0.7, same: 1, label: "x" }, [
        "threshold",
        "same",
        "label",
      ])
      .catch((e: unknown) => e);
    const calls = fetchMock.mock.calls.map(([r]) => `${r.method} ${new URL(r.url).pathname}`);
    expect(calls).toEqual(["PUT /api/v1/plugins/1/config/1", "POST /api/v1/plugins/1/config"]);
    expect(error).toBeInstanceOf(m.SaveError);
    expect((error as InstanceType<typeof m.SaveError>).key).toBe("label");
  });
});
