import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { PluginRun } from "../api/clips";
import { PluginResults } from "./PluginResults";

const CLIP = "0b9c7c1e-5d5e-4c4e-9a51-3f0d8c1b2a01";

function run(overrides: Partial<PluginRun>): PluginRun {
  return {
    run_id: "r1",
    plugin: "media_probe",
    version: "0.2.0",
    status: "ok",
    duration_ms: 35,
    error: null,
    attempt: 1,
    event_id: "e1",
    runner: "python",
    backfill_id: null,
    reported_at: "2026-01-15T18:30:30Z",
    ...overrides,
  };
}

const RESULTS = {
  media_probe: {
    container: "mov,mp4,m4a,3gp,3g2,mj2",
    duration: 125.4,
    bitrate: 4_000_000,
    video: { codec: "h264", profile: "High", resolution: "1920x1080", average_fps: 60, real_fps: 60, rotation: 0, keyframe_interval_s: 2 },
    audio: { codec: "aac", channels: 2, sample_rate: 48000 },
    clip_fields: { duration: 125.4 },
    disagreements: { fps: { clip: 30, file: 60 } },
  },
  highlight_detector: {
    highlights: [{ timestamp: 2.4, confidence: 0.71, kind: "loud" }],
    analyzed: ["audio"],
    baseline_db: -31.2,
    damaged_packets: 0,
  },
  clip_quality: { pixels: 2073600, resolution_class: "1080p", smooth: true, quality_score: 4, nested: { a: 1 } },
  tag_suggester: { suggested_tags: ["fps", "ace"] },
};

describe("PluginResults", () => {
  it("heads a section per plugin with its last run", () => {
    render(
      <PluginResults
        clipId={CLIP}
        results={RESULTS}
        runs={[run({ status: "error", attempt: 1 }), run({ attempt: 2 }), run({ plugin: "thumbnails", status: "error", error: "no frame could be decoded" })]}
        access="tok"
      />,
    );
    const names = screen.getAllByRole("heading", { level: 3 }).map((h) => h.textContent);
    expect(names).toEqual(["clip_quality", "highlight_detector", "media_probe", "tag_suggester", "thumbnails"]);

    const probe = screen.getByRole("region", { name: "media_probe" });
    expect(within(probe).getByText("OK")).toBeInTheDocument(); // the last run, not the first
    expect(within(probe).getByText(/35 ms · attempt 2/)).toBeInTheDocument();
    expect(within(probe).getByText("1920x1080")).toBeInTheDocument();
    expect(within(probe).getByText("h264, High")).toBeInTheDocument();
    expect(within(probe).getByText("4000 kb/s")).toBeInTheDocument();
    expect(within(probe).getByText("aac, 2 channels, 48000 Hz")).toBeInTheDocument();
    expect(within(probe).getByText("fps: the clip says 30, the file 60")).toBeInTheDocument();

    // a run without a result, and its error, plainly
    const thumbs = screen.getByRole("region", { name: "thumbnails" });
    expect(within(thumbs).getByText("Error", { selector: ".badge" })).toBeInTheDocument();
    expect(within(thumbs).getByText("no frame could be decoded")).toBeInTheDocument();
    expect(within(thumbs).getByText("No result yet.")).toBeInTheDocument();
  });

  it("shows an unknown plugin's flat values, and all of it as raw JSON", async () => {
    render(<PluginResults clipId={CLIP} results={RESULTS} runs={[]} access="tok" />);
    const quality = screen.getByRole("region", { name: "clip_quality" });
    const terms = within(quality).getAllByRole("term").map((t) => t.textContent);
    expect(terms).toEqual(["pixels", "resolution class", "smooth", "quality score"]);
    expect(within(quality).getByText("yes")).toBeInTheDocument();
    expect(within(screen.getByRole("region", { name: "tag_suggester" })).getByText("fps, ace")).toBeInTheDocument();

    await userEvent.click(within(quality).getByText("Raw JSON"));
    expect(within(quality).getByText(/"nested": \{/)).toBeVisible();
  });

  it("lists highlights as buttons that seek", async () => {
    const onSeek = vi.fn();
    render(<PluginResults clipId={CLIP} results={RESULTS} runs={[]} access="tok" onSeek={onSeek} />);
    const highlights = screen.getByRole("region", { name: "highlight_detector" });
    expect(within(highlights).getByRole("listitem")).toHaveTextContent("Seek to 0:02 Loud moment, confidence 71%");
    await userEvent.click(within(highlights).getByRole("button", { name: "Seek to 0:02" }));
    expect(onSeek).toHaveBeenCalledWith(2.4);
  });

  it("says when no plugin has reported", () => {
    render(<PluginResults clipId={CLIP} results={{}} runs={[]} access={null} />);
    expect(screen.getByText("No plugin has reported on this clip yet.")).toBeInTheDocument();
  });
});
