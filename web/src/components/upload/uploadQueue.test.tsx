import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, fireEvent, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { UploadHandle, UploadOutcome } from "../../api/uploads";
import { AuthProvider } from "../../auth";
import UploadPage from "../../pages/UploadPage";
import { UploadQueue } from "./uploadQueue";

/** Just enough of XMLHttpRequest: the test answers each request by hand. */
class FakeXHR {
  static sent: FakeXHR[] = [];
  upload: { onprogress: ((e: Partial<ProgressEvent>) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  method = "";
  url = "";
  requestHeaders: Record<string, string> = {};
  body: FormData | null = null;
  status = 0;
  responseText = "";
  private responseHeaders: Record<string, string> = {};

  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.requestHeaders[name] = value;
  }
  send(body: FormData) {
    this.body = body;
    FakeXHR.sent.push(this);
  }
  getResponseHeader(name: string) {
    return this.responseHeaders[name] ?? null;
  }
  abort() {
    this.onabort?.();
  }
  progress(loaded: number, total: number) {
    act(() => this.upload.onprogress?.({ loaded, total, lengthComputable: true }));
  }
  async respond(status: number, body: unknown, headers: Record<string, string> = {}) {
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.responseHeaders = headers;
    await act(async () => this.onload?.());
  }
}

beforeEach(() => {
  FakeXHR.sent = [];
  vi.stubGlobal("XMLHttpRequest", FakeXHR);
  sessionStorage.setItem("clipforge.apiKey", "cf_up");
});
afterEach(() => vi.unstubAllGlobals());

const video = (name: string) => new File(["0123456789"], name, { type: "video/mp4" });

function renderPage(queue = new UploadQueue()) {
  render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter>
        <AuthProvider>
          <UploadPage queue={queue} />
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return queue;
}

const clip = (id: string, title: string) => ({ id, title });

describe("the upload page", () => {
  it("sends each file with the shared fields, shows its progress, then links to the clip", async () => {
    renderPage();
    expect(screen.getByRole("heading", { level: 1, name: "Upload" })).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("Game"), "Celeste");
    await userEvent.type(screen.getByLabelText("Tags"), "speedrun, pb ,speedrun");
    await userEvent.upload(screen.getByLabelText("Choose video files"), video("Best run.final.mp4"));

    const xhr = FakeXHR.sent[0]!;
    expect(`${xhr.method} ${xhr.url}`).toBe("POST /api/v1/clips/upload");
    expect(xhr.requestHeaders.Authorization).toBe("Bearer cf_up");
    expect((xhr.body!.get("file") as File).name).toBe("Best run.final.mp4");
    expect(xhr.body!.get("title")).toBe("Best run.final");
    expect(xhr.body!.get("game_name")).toBe("Celeste");
    expect(xhr.body!.getAll("tags")).toEqual(["speedrun", "pb"]);

    const bar = screen.getByRole("progressbar", { name: "Uploading Best run.final.mp4" });
    xhr.progress(4, 10);
    expect(bar).toHaveValue(40);
    expect(screen.getByText("40 %")).toBeInTheDocument();

    await xhr.respond(201, clip("c-1", "Best run.final"), { Location: "/api/v1/clips/c-1" });
    expect(screen.getByRole("link", { name: "Open Best run.final" })).toHaveAttribute("href", "/clips/c-1");
    expect(screen.queryByRole("progressbar")).not.toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("All uploads finished: 1 uploaded, 0 failed.");
  });

  it("runs two uploads at once, the rest wait their turn", async () => {
    renderPage();
    fireEvent.drop(screen.getByLabelText("Choose video files").parentElement!, {
      dataTransfer: { files: [video("a.mp4"), video("b.mp4"), video("c.mp4")] },
    });
    expect(FakeXHR.sent).toHaveLength(2);
    expect(screen.getAllByRole("progressbar")).toHaveLength(3);
    expect(screen.getByRole("status")).toHaveTextContent("Uploading 2 files, 1 waiting.");
    await FakeXHR.sent[1]!.respond(201, clip("c-b", "b"));
    expect(FakeXHR.sent).toHaveLength(3);
    expect(FakeXHR.sent[2]!.body!.get("title")).toBe("c");
  });

  it("shows the API's refusal plainly, and links a duplicate to the clip it already is", async () => {
    renderPage();
    await userEvent.upload(screen.getByLabelText("Choose video files"), [video("notes.mp4"), video("again.mp4")]);
    await FakeXHR.sent[0]!.respond(415, { detail: "not a video: no stream a decoder can open" });
    await FakeXHR.sent[1]!.respond(409, { detail: "this file is already clip c-9" }, { Location: "/api/v1/clips/c-9" });

    const rows = within(screen.getByRole("list", { name: "Uploads" })).getAllByRole("listitem");
    expect(within(rows[0]!).getByRole("alert")).toHaveTextContent("not a video: no stream a decoder can open");
    expect(within(rows[1]!).getByRole("link", { name: "Open the existing clip" })).toHaveAttribute("href", "/clips/c-9");
  });

  it("says plainly that a viewer key cannot upload", async () => {
    renderPage();
    await userEvent.upload(screen.getByLabelText("Choose video files"), video("a.mp4"));
    await FakeXHR.sent[0]!.respond(403, { detail: "needs the uploader role" });
    expect(screen.getByRole("alert")).toHaveTextContent("Only an uploader or admin key can upload clips.");
  });

  it("cancels an upload", async () => {
    renderPage();
    await userEvent.upload(screen.getByLabelText("Choose video files"), video("long.mp4"));
    await userEvent.click(screen.getByRole("button", { name: "Cancel long.mp4" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Cancelled.");
  });
});

describe("UploadQueue", () => {
  it("on a 401 forgets the key, fails the files still waiting and says why", async () => {
    const queue = new UploadQueue();
    const told = vi.fn();
    queue.onUnauthorized = told;
    queue.add([video("a.mp4"), video("b.mp4"), video("c.mp4")]);
    await FakeXHR.sent[0]!.respond(401, { detail: "unknown API key" });
    await act(async () => {});
    expect(sessionStorage.getItem("clipforge.apiKey")).toBeNull();
    expect(told).toHaveBeenCalledWith("The API refused the key: unknown API key. Sign in again.");
    expect(queue.getSnapshot().map((i) => i.state)).toEqual(["failed", "uploading", "failed"]);
    expect(queue.getSnapshot()[2]!.message).toBe("Not sent: the API key was refused.");
  });

  it("works with any uploader, and clears what is finished", async () => {
    const answers: ((o: UploadOutcome) => void)[] = [];
    const upload = vi.fn(
      (): UploadHandle => ({ done: new Promise((resolve) => answers.push(resolve)), abort: vi.fn() }),
    );
    const queue = new UploadQueue(upload, 1);
    queue.add([video("a.mp4"), video("b.mp4")], { game_name: "Tetris" });
    expect(upload).toHaveBeenCalledTimes(1);
    expect(upload.mock.calls[0]).toEqual([expect.any(File), { title: "a", game_name: "Tetris" }, expect.any(Function)]);
    answers[0]!({ kind: "duplicate", clipId: "c-1", message: "already" });
    await Promise.resolve();
    expect(upload).toHaveBeenCalledTimes(2);
    queue.clearFinished();
    expect(queue.getSnapshot().map((i) => i.fileName)).toEqual(["b.mp4"]);
  });
});
