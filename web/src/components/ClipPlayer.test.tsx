import { fireEvent, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { Highlight, Storyboard } from "../api/clips";
import { ClipPlayer, nearestTile, timelinePosition } from "./ClipPlayer";

const HIGHLIGHTS: Highlight[] = [
  { timestamp: 2.7, confidence: 0.71, kind: "loud" },
  { timestamp: 30, confidence: 0.5, kind: "scene_cut" },
  { timestamp: 75.99, confidence: 0.9, kind: "motion" },
];

// As `thumbnails` writes it: 4 tiles of 160x90, 2 columns.
const STORYBOARD: Storyboard = {
  sprite: "/api/v1/clips/c1/storyboard/storyboard.jpg",
  tile_width: 160,
  tile_height: 90,
  columns: 2,
  rows: 2,
  tiles: [
    { timestamp: 0, x: 0, y: 0, w: 160, h: 90 },
    { timestamp: 30, x: 160, y: 0, w: 160, h: 90 },
    { timestamp: 60, x: 0, y: 90, w: 160, h: 90 },
    { timestamp: 90, x: 160, y: 90, w: 160, h: 90 },
  ],
};

const SPRITE = "/api/v1/clips/c1/storyboard/storyboard.jpg?access=tok";

function renderPlayer(props: Partial<Parameters<typeof ClipPlayer>[0]> = {}) {
  return render(
    <ClipPlayer
      src="/api/v1/clips/c1/media?access=tok"
      poster="/api/v1/clips/c1/thumbnail?access=tok"
      duration={120}
      highlights={HIGHLIGHTS}
      storyboard={STORYBOARD}
      spriteUrl={SPRITE}
      {...props}
    />,
  );
}

describe("ClipPlayer", () => {
  it("shows the video with its source, poster and label", () => {
    renderPlayer();
    const video = screen.getByLabelText("Clip video");
    expect(video.tagName).toBe("VIDEO");
    expect(video).toHaveAttribute("src", "/api/v1/clips/c1/media?access=tok");
    expect(video).toHaveAttribute("poster", "/api/v1/clips/c1/thumbnail?access=tok");
    expect(video).toHaveAttribute("preload", "metadata");
    expect(video).toHaveAttribute("controls");
  });

  it("puts a named button per highlight along the timeline", () => {
    renderPlayer();
    const markers = screen.getAllByRole("button", { name: /^Highlight at / });
    expect(markers.map((m) => m.getAttribute("aria-label"))).toEqual([
      "Highlight at 0:02",
      "Highlight at 0:30",
      "Highlight at 1:15",
    ]);
    expect(markers.map((m) => m.style.left)).toEqual(["2.25%", "25%", "63.325%"]);
  });

  it("seeks the video to a highlight when its marker is clicked", async () => {
    renderPlayer();
    const video = screen.getByLabelText<HTMLVideoElement>("Clip video");
    await userEvent.click(screen.getByRole("button", { name: "Highlight at 0:30" }));
    expect(video.currentTime).toBe(30);
  });

  it("seeks from the keyboard too", async () => {
    renderPlayer();
    const video = screen.getByLabelText<HTMLVideoElement>("Clip video");
    const marker = screen.getByRole("button", { name: "Highlight at 0:02" });
    marker.focus();
    await userEvent.keyboard("{Enter}");
    expect(video.currentTime).toBe(2.7);
  });

  it("has no markers without highlights", () => {
    renderPlayer({ highlights: [] });
    expect(screen.queryAllByRole("button", { name: /^Highlight at / })).toHaveLength(0);
    expect(screen.getByLabelText("Clip video")).toBeInTheDocument();
  });

  it("waits for the video's own duration when the clip has none", () => {
    renderPlayer({ duration: null });
    expect(screen.queryByRole("button", { name: "Highlight at 0:30" })).not.toBeInTheDocument();
    const video = screen.getByLabelText<HTMLVideoElement>("Clip video");
    Object.defineProperty(video, "duration", { configurable: true, value: 60 });
    fireEvent.loadedMetadata(video);
    expect(screen.getByRole("button", { name: "Highlight at 0:30" }).style.left).toBe("50%");
  });

  it("previews the storyboard tile nearest the pointer", () => {
    const { container } = renderPlayer();
    const timeline = screen.getByRole("group", { name: "Timeline" });
    timeline.getBoundingClientRect = () => ({ left: 100, width: 400, top: 0, height: 32 }) as DOMRect;

    // 250 px in of 400: 75 s of 120, nearest the tile at 60 s (x 0, y 90)
    fireEvent.mouseMove(timeline, { clientX: 350 });
    let preview = container.querySelector<HTMLElement>(".clip-timeline__preview");
    expect(preview).not.toBeNull();
    expect(preview!.style.backgroundImage).toContain(SPRITE);
    expect(preview!.style.backgroundPosition).toBe("0px -90px");
    expect(preview!.style.width).toBe("160px");
    expect(preview).toHaveTextContent("1:15");

    // the far right: 120 s, the last tile
    fireEvent.mouseMove(timeline, { clientX: 500 });
    preview = container.querySelector<HTMLElement>(".clip-timeline__preview");
    expect(preview!.style.backgroundPosition).toBe("-160px -90px");
    expect(preview!.style.left).toBe("320px"); // kept inside: 400 - 160 / 2

    fireEvent.mouseLeave(timeline);
    expect(container.querySelector(".clip-timeline__preview")).toBeNull();
  });

  it("shows no preview without a storyboard", () => {
    const { container } = renderPlayer({ storyboard: null, spriteUrl: null });
    const timeline = screen.getByRole("group", { name: "Timeline" });
    timeline.getBoundingClientRect = () => ({ left: 0, width: 400, top: 0, height: 32 }) as DOMRect;
    fireEvent.mouseMove(timeline, { clientX: 200 });
    expect(container.querySelector(".clip-timeline__preview")).toBeNull();
  });

  it("keeps its place when the media token is renewed mid-play", () => {
    const { rerender } = renderPlayer();
    const video = screen.getByLabelText<HTMLVideoElement>("Clip video");
    Object.defineProperty(video, "paused", { configurable: true, value: false });
    const props = { poster: undefined, duration: 120, highlights: [], storyboard: null };
    rerender(<ClipPlayer {...props} src="/api/v1/clips/c1/media?access=new" />);
    expect(video).toHaveAttribute("src", "/api/v1/clips/c1/media?access=tok");
    // the old token fails: the new one is taken
    fireEvent.error(video);
    expect(video).toHaveAttribute("src", "/api/v1/clips/c1/media?access=new");
  });
});

describe("nearestTile / timelinePosition", () => {
  it("picks the nearest tile, the earlier of two equally near", () => {
    expect(nearestTile(STORYBOARD.tiles, 44)?.timestamp).toBe(30);
    expect(nearestTile(STORYBOARD.tiles, 45)?.timestamp).toBe(30);
    expect(nearestTile(STORYBOARD.tiles, 46)?.timestamp).toBe(60);
    expect(nearestTile(STORYBOARD.tiles, 500)?.timestamp).toBe(90);
    expect(nearestTile([], 5)).toBeNull();
  });

  it("clamps positions to the timeline", () => {
    expect(timelinePosition(-1, 10)).toBe("0%");
    expect(timelinePosition(5, 10)).toBe("50%");
    expect(timelinePosition(11, 10)).toBe("100%");
  });
});
