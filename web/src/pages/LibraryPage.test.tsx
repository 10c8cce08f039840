import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/client";
import { listClips, type ClipPage } from "../api/clips";
import { makeClip, renderWithRouter } from "../components/clip/testing";
import LibraryPage from "./LibraryPage";

vi.mock("../api/clips", async (original) => ({ ...(await original<typeof import("../api/clips")>()), listClips: vi.fn() }));
vi.mock("../api/media", async (original) => ({
  ...(await original<typeof import("../api/media")>()),
  useMediaAccess: () => "tok",
}));

const list = vi.mocked(listClips);

function page(items: ReturnType<typeof makeClip>[], total = items.length, offset = 0): ClipPage {
  return { items, total, limit: 48, offset };
}

const WITH_POSTER = makeClip({
  id: "11111111-1111-1111-1111-111111111111",
  title: "Epic Victory",
  duration: 125.9,
  metadata: { plugins: { thumbnails: { poster: { file: "poster.jpg", width: 640, height: 360 } } } },
});
const WITHOUT_POSTER = makeClip({
  id: "22222222-2222-2222-2222-222222222222",
  title: "Fresh upload",
  status: "processing",
  duration: null,
  game_name: null,
});

function renderLibrary(path = "/") {
  return renderWithRouter(render, { path, route: "/", element: <LibraryPage /> });
}

const location = () => screen.getByTestId("location").textContent;

describe("LibraryPage", () => {
  beforeEach(() => list.mockResolvedValue(page([WITH_POSTER, WITHOUT_POSTER])));
  afterEach(() => list.mockReset());

  it("shows a card per clip, the title being the link", async () => {
    renderLibrary();
    expect(screen.getByRole("heading", { level: 1, name: "Library" })).toBeInTheDocument();
    const link = await screen.findByRole("link", { name: "Epic Victory" });
    expect(link).toHaveAttribute("href", `/clips/${WITH_POSTER.id}`);
    expect(screen.getByRole("link", { name: "Fresh upload" })).toHaveAttribute("href", `/clips/${WITHOUT_POSTER.id}`);

    const poster = screen.getByRole("img", { name: "Poster of Epic Victory" });
    expect(poster).toHaveAttribute("src", `/api/v1/clips/${WITH_POSTER.id}/thumbnail?access=tok`);
    expect(poster).toHaveAttribute("loading", "eager");
    // no poster yet: not even asked for
    expect(screen.queryByRole("img", { name: "Poster of Fresh upload" })).not.toBeInTheDocument();
    expect(screen.getByText("No poster yet · Processing")).toBeInTheDocument();

    const [first, second] = screen.getAllByRole("article");
    expect(within(first).getByText("Counter-Strike 2")).toBeInTheDocument();
    expect(within(first).getByText("2:05")).toBeInTheDocument();
    expect(within(first).getByText("Completed")).toBeInTheDocument();
    expect(within(second).getByText("No game")).toBeInTheDocument();
    expect(screen.getByText("Showing 1–2 of 2")).toBeInTheDocument();
    expect(list).toHaveBeenCalledWith({}, 0, 48, expect.anything());
  });

  it("says when there are no clips yet, with a way to upload", async () => {
    list.mockResolvedValue(page([]));
    renderLibrary();
    expect(await screen.findByText("No clips yet")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Upload a clip" })).toHaveAttribute("href", "/upload");
  });

  it("reads the filters from the URL and sends them", async () => {
    renderLibrary("/?q=ace&status=failed&sort=title&order=asc&page=2");
    await screen.findByRole("link", { name: "Epic Victory" });
    expect(list).toHaveBeenCalledWith({ q: "ace", status: "failed", sort: "title", order: "asc" }, 48, 48, expect.anything());
    expect(screen.getByLabelText("Search")).toHaveValue("ace");
    expect(screen.getByLabelText("Status")).toHaveValue("failed");
    expect(screen.getByLabelText("Sort by")).toHaveValue("title");
    expect(screen.getByLabelText("Order")).toHaveValue("asc");
  });

  it("puts typed filters in the URL once typing pauses", async () => {
    renderLibrary();
    await screen.findByRole("link", { name: "Epic Victory" });
    await userEvent.type(screen.getByLabelText("Game"), "Halo ");
    expect(location()).toBe("/"); // not on each keystroke
    await waitFor(() => expect(location()).toBe("/?game_name=Halo"));
    expect(screen.getByLabelText("Game")).toHaveValue("Halo "); // the space being typed stays
    await waitFor(() => expect(list).toHaveBeenLastCalledWith({ game_name: "Halo" }, 0, 48, expect.anything()));

    await userEvent.selectOptions(screen.getByLabelText("Status"), "Failed");
    expect(location()).toBe("/?game_name=Halo&status=failed");
    await userEvent.click(screen.getByRole("button", { name: "Clear filters" }));
    expect(location()).toBe("/");
    expect(screen.getByLabelText("Game")).toHaveValue("");
  });

  it("pages through the clips", async () => {
    list.mockImplementation(async (_f, offset) => page([makeClip({ title: `At ${offset}` })], 100, offset));
    renderLibrary();
    await screen.findByRole("link", { name: "At 0" });
    expect(screen.getByText("Page 1 of 3")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Previous" })).toBeDisabled();
    await userEvent.click(screen.getByRole("button", { name: "Next" }));
    expect(await screen.findByRole("link", { name: "At 48" })).toBeInTheDocument();
    expect(location()).toBe("/?page=2");
    expect(screen.getByText("Showing 49–49 of 100")).toBeInTheDocument();
    expect(screen.getByText("Page 2 of 3")).toBeInTheDocument();
  });

  it("shows a failure as an alert", async () => {
    list.mockRejectedValue(new ApiError(500, "database unreachable"));
    renderLibrary();
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not load the clips: database unreachable");
  });
});
