import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/client";
import * as clips from "../api/clips";
import type { Processing } from "../api/clips";
import { makeClip, renderWithRouter } from "../components/clip/testing";
import ClipPage from "./ClipPage";

vi.mock("../api/clips", async (original) => ({
  ...(await original<typeof import("../api/clips")>()),
  getClip: vi.fn(),
  getProcessing: vi.fn(),
  getStoryboard: vi.fn(),
  updateClip: vi.fn(),
  reprocessClip: vi.fn(),
  deleteClip: vi.fn(),
}));
vi.mock("../api/media", async (original) => ({
  ...(await original<typeof import("../api/media")>()),
  useMediaAccess: () => "tok",
}));

const api = vi.mocked(clips);
const ID = "0b9c7c1e-5d5e-4c4e-9a51-3f0d8c1b2a01";

const CLIP = makeClip({
  id: ID,
  metadata: {
    plugins: {
      highlight_detector: {
        highlights: [
          { timestamp: 2.4, confidence: 0.71, kind: "loud" },
          { timestamp: 62.5, confidence: 0.55, kind: "loud" },
        ],
        highlight_count: 2,
        baseline_db: -31.2,
        analyzed: ["audio"],
        damaged_packets: 0,
        _run: { status: "ok", version: "0.2.0", duration_ms: 840, error: null },
      },
      thumbnails: {
        poster: { file: "poster.jpg", width: 640, height: 360, timestamp: 12.5, content_type: "image/jpeg" },
        storyboard: { file: "storyboard.jpg", index: "storyboard.json", count: 20, tile_width: 160, tile_height: 90, interval_s: 6.25 },
        _run: { status: "ok", version: "0.1.0", duration_ms: 1200, error: null, at: "2026-01-15T18:31:00Z" },
      },
    },
  },
});

const PROCESSING: Processing = {
  clip_id: ID,
  status: "completed",
  runs: [{ run_id: "r1", due: ["highlight_detector", "thumbnails"], backfill_id: null, requested_at: "2026-01-15T18:30:00Z", completed_at: "2026-01-15T18:31:00Z" }],
  items: [
    { run_id: "r1", plugin: "highlight_detector", version: "0.2.0", status: "ok", duration_ms: 840, error: null, attempt: 1, event_id: "e1", runner: "python", backfill_id: null, reported_at: "2026-01-15T18:30:30Z" },
    { run_id: "r1", plugin: "thumbnails", version: "0.1.0", status: "ok", duration_ms: 1200, error: null, attempt: 1, event_id: "e2", runner: "python", backfill_id: null, reported_at: "2026-01-15T18:31:00Z" },
  ],
};

function renderPage(id = ID) {
  return renderWithRouter(render, { path: `/clips/${id}`, route: "/clips/:id", element: <ClipPage /> });
}

describe("ClipPage", () => {
  beforeEach(() => {
    api.getClip.mockResolvedValue(CLIP);
    api.getProcessing.mockResolvedValue(PROCESSING);
    api.getStoryboard.mockResolvedValue({
      sprite: `/api/v1/clips/${ID}/storyboard/storyboard.jpg`,
      tile_width: 160,
      tile_height: 90,
      columns: 5,
      rows: 4,
      tiles: [{ timestamp: 3, x: 0, y: 0, w: 160, h: 90 }],
    });
  });
  afterEach(() => vi.resetAllMocks());

  it("shows the clip, its video, markers, results and trace", async () => {
    renderPage();
    expect(await screen.findByRole("heading", { level: 1, name: "Epic Victory" })).toBeInTheDocument();
    const video = screen.getByLabelText("Clip video");
    expect(video).toHaveAttribute("src", `/api/v1/clips/${ID}/media?access=tok`);
    expect(video).toHaveAttribute("poster", `/api/v1/clips/${ID}/thumbnail?access=tok`);
    expect(screen.getByRole("button", { name: "Highlight at 0:02" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Highlight at 1:02" }).style.left).toBe("50%");

    expect(screen.getByRole("heading", { level: 3, name: "highlight_detector" })).toBeInTheDocument();
    const thumbs = screen.getByRole("region", { name: "thumbnails" });
    expect(within(thumbs).getByText(/20 tiles of 160×90/)).toBeInTheDocument();
    const table = await screen.findByRole("table");
    expect(within(table).getAllByRole("row")).toHaveLength(3);
    expect(within(table).getByRole("rowheader", { name: "thumbnails" })).toBeInTheDocument();
    expect(api.getStoryboard).toHaveBeenCalledWith(ID, expect.anything());
  });

  it("seeks the video from the highlight list", async () => {
    renderPage();
    const video = await screen.findByLabelText<HTMLVideoElement>("Clip video");
    await userEvent.click(screen.getByRole("button", { name: "Seek to 1:02" }));
    expect(video.currentTime).toBe(62.5);
  });

  it("saves the details, and shows the API's 422 by its field", async () => {
    api.updateClip.mockRejectedValueOnce(
      new ApiError(422, [{ loc: ["body", "tags", 1], msg: "String should have at most 50 characters", type: "string_too_long" }]),
    );
    renderPage();
    const title = await screen.findByLabelText("Title");
    await userEvent.clear(title);
    await userEvent.type(title, "Ace on Dust");
    const tags = screen.getByLabelText("Tags");
    await userEvent.clear(tags);
    await userEvent.type(tags, "ace, way too long, ace");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));

    expect(api.updateClip).toHaveBeenCalledWith(ID, { title: "Ace on Dust", tags: ["ace", "way too long"], description: "The last round" });
    expect(await screen.findByText('Tag "way too long": String should have at most 50 characters')).toBeInTheDocument();
    expect(screen.getByLabelText("Tags")).toHaveAttribute("aria-invalid", "true");

    api.updateClip.mockResolvedValueOnce({ ...CLIP, title: "Ace on Dust", tags: ["ace"] });
    await userEvent.clear(tags);
    await userEvent.type(tags, "ace");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Ace on Dust" })).toBeInTheDocument();
    expect(screen.getByText("Saved.")).toBeInTheDocument();
    expect(screen.getByLabelText("Tags")).not.toHaveAttribute("aria-invalid");
  });

  it("says plainly that reprocessing needs an admin key", async () => {
    api.reprocessClip.mockRejectedValue(new ApiError(403, "this needs the admin role"));
    renderPage();
    await userEvent.click(await screen.findByRole("button", { name: "Reprocess" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Only an admin key can reprocess a clip.");
  });

  it("reprocesses, and polls again", async () => {
    api.reprocessClip.mockResolvedValue({ clip_id: ID, run_id: "r2", plugins: null });
    renderPage();
    await userEvent.click(await screen.findByRole("button", { name: "Reprocess" }));
    expect(await screen.findByText(/Reprocessing started/)).toBeInTheDocument();
    expect(api.reprocessClip).toHaveBeenCalledWith(ID);
    await waitFor(() => expect(api.getClip).toHaveBeenCalledTimes(2));
  });

  it("deletes after a confirmation, then goes to the library", async () => {
    api.deleteClip.mockResolvedValue();
    renderPage();
    await userEvent.click(await screen.findByRole("button", { name: "Delete" }));
    const dialog = screen.getByRole("dialog", { name: "Delete this clip?" });
    expect(dialog).toHaveAttribute("aria-modal", "true");
    expect(within(dialog).getByRole("button", { name: "Cancel" })).toHaveFocus();

    // Tab stays inside; Escape closes and gives focus back
    await userEvent.tab();
    expect(within(dialog).getByRole("button", { name: "Delete clip" })).toHaveFocus();
    await userEvent.tab();
    expect(within(dialog).getByRole("button", { name: "Cancel" })).toHaveFocus();
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Delete" })).toHaveFocus();
    expect(api.deleteClip).not.toHaveBeenCalled();

    await userEvent.click(screen.getByRole("button", { name: "Delete" }));
    await userEvent.click(screen.getByRole("button", { name: "Delete clip" }));
    await waitFor(() => expect(screen.getByTestId("location")).toHaveTextContent(/^\/$/));
    expect(api.deleteClip).toHaveBeenCalledWith(ID);
  });

  it("says when the clip does not exist", async () => {
    api.getClip.mockRejectedValue(new ApiError(404, "clip not found"));
    renderPage();
    expect(await screen.findByRole("alert")).toHaveTextContent("There is no clip with this id");
  });

  it("polls a clip still being processed until it is done", async () => {
    api.getClip
      .mockResolvedValueOnce({ ...CLIP, status: "processing", metadata: {} })
      .mockResolvedValue(CLIP);
    renderPage();
    expect(await screen.findByText(/still working on this clip/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Highlight at 0:02" })).not.toBeInTheDocument();
    expect(await screen.findByRole("button", { name: "Highlight at 0:02" }, { timeout: 4000 })).toBeInTheDocument();
    expect(screen.queryByText(/still working on this clip/)).not.toBeInTheDocument();
  });
});
