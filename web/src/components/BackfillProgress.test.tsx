import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/client";
import { getBackfill, type Backfill } from "../api/plugins";
import { BackfillProgress, BackfillStatus } from "./BackfillProgress";

vi.mock("../api/plugins", async (original) => ({
  ...(await original<typeof import("../api/plugins")>()),
  getBackfill: vi.fn(),
}));

const polled = vi.mocked(getBackfill);
afterEach(() => polled.mockReset());

function state(done: number, failed = 0, total = 4): Backfill {
  return { id: 9, plugin_id: 3, plugin: "scene_tagger", total, done, failed, pending: total - done, requested_at: "" };
}

function renderProgress(started: Backfill) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <BackfillProgress started={started} intervalMs={10} />
    </QueryClientProvider>,
  );
}

describe("BackfillStatus", () => {
  it("shows the counts and the percent, with a named progress bar", () => {
    render(<BackfillStatus backfill={state(1, 1)} />);
    const bar = screen.getByRole("progressbar", { name: "Backfill progress" });
    expect(bar).toHaveAttribute("aria-valuenow", "25");
    expect(screen.getByText("25 %")).toBeInTheDocument();
    expect(screen.getByText("1 / 4 done, 1 failed")).toBeInTheDocument();
    expect(screen.getByRole("status")).toBeEmptyDOMElement();
  });

  it("counts a backfill with nothing to do as finished", () => {
    render(<BackfillStatus backfill={state(0, 0, 0)} />);
    expect(screen.getByRole("progressbar", { name: "Backfill progress" })).toHaveAttribute("aria-valuenow", "100");
    expect(screen.getByRole("status")).toHaveTextContent("Backfill finished");
  });
});

describe("BackfillProgress", () => {
  it("polls until nothing is pending, then stops", async () => {
    polled.mockResolvedValueOnce(state(2, 1)).mockResolvedValue(state(4, 1));
    renderProgress(state(0));
    expect(screen.getByText("0 / 4 done, 0 failed")).toBeInTheDocument();
    expect(await screen.findByText("Backfill finished")).toBeInTheDocument();
    expect(screen.getByText("4 / 4 done, 1 failed")).toBeInTheDocument();
    expect(screen.getByText("100 %")).toBeInTheDocument();
    expect(screen.getByRole("progressbar", { name: "Backfill progress" })).toHaveAttribute("aria-valuenow", "100");
    expect(polled).toHaveBeenCalledWith(3, 9);
    const calls = polled.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(polled).toHaveBeenCalledTimes(calls);
  });

  it("says so when the progress cannot be read, and stops on a 4xx", async () => {
    polled.mockRejectedValue(new ApiError(404, "backfill 9 of plugin 3 not found"));
    renderProgress(state(1));
    expect(await screen.findByRole("alert")).toHaveTextContent("backfill 9 of plugin 3 not found");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(polled).toHaveBeenCalledTimes(1);
    expect(screen.getByText("1 / 4 done, 0 failed")).toBeInTheDocument();
  });
});
