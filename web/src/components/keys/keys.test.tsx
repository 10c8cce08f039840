import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../../api/client";
import { createKey, listKeys, revokeKey, type ApiKey } from "../../api/keys";
import KeysPage from "../../pages/KeysPage";

vi.mock("../../api/keys", async (original) => ({
  ...(await original<typeof import("../../api/keys")>()),
  listKeys: vi.fn(),
  createKey: vi.fn(),
  revokeKey: vi.fn(),
}));

afterEach(() => vi.resetAllMocks());

const obs: ApiKey = { id: "k-1", name: "obs", role: "uploader", prefix: "cf_ab12", created_at: "2024-05-01T10:00:00Z" };
const SECRET = "cf_ab12_the-whole-secret";

function renderPage() {
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <KeysPage />
    </QueryClientProvider>,
  );
}

describe("the keys page", () => {
  it("creates a key and shows its secret once, with a copy button", async () => {
    const user = userEvent.setup();
    vi.mocked(listKeys).mockResolvedValueOnce([]).mockResolvedValue([obs]);
    vi.mocked(createKey).mockResolvedValue({ ...obs, key: SECRET });
    renderPage();
    expect(screen.getByRole("heading", { level: 1, name: "API keys" })).toBeInTheDocument();
    expect(await screen.findByText("No keys yet.")).toBeInTheDocument();

    await user.type(screen.getByLabelText("Name"), "obs");
    await user.selectOptions(screen.getByLabelText("Role"), "uploader");
    await user.click(screen.getByRole("button", { name: "Create key" }));

    expect(createKey).toHaveBeenCalledWith("obs", "uploader");
    const box = await screen.findByRole("region", { name: "Key “obs” created" });
    expect(within(box).getByText(SECRET)).toBeInTheDocument();
    expect(box).toHaveTextContent("it won't be shown again");
    expect(within(box).getByRole("heading")).toHaveFocus();
    expect(screen.getByLabelText("Name")).toHaveValue("");

    await user.click(within(box).getByRole("button", { name: "Copy" }));
    expect(await navigator.clipboard.readText()).toBe(SECRET);
    expect(within(box).getByRole("status")).toHaveTextContent("Copied.");

    // The list has the new key, but never its secret.
    const table = await screen.findByRole("table", { name: "API keys" });
    expect(within(table).getByRole("rowheader", { name: "obs" })).toBeInTheDocument();
    expect(within(table).getByText("cf_ab12…")).toBeInTheDocument();

    await user.click(within(box).getByRole("button", { name: "Done" }));
    expect(screen.queryByText(SECRET)).not.toBeInTheDocument();
  });

  it("asks for a name before creating", async () => {
    const user = userEvent.setup();
    vi.mocked(listKeys).mockResolvedValue([]);
    renderPage();
    await user.click(screen.getByRole("button", { name: "Create key" }));
    expect(screen.getByLabelText("Name")).toHaveAccessibleDescription(expect.stringContaining("Enter a name."));
    expect(createKey).not.toHaveBeenCalled();
  });

  it("revokes a key after a confirmation", async () => {
    const user = userEvent.setup();
    vi.mocked(listKeys).mockResolvedValueOnce([obs]).mockResolvedValue([]);
    vi.mocked(revokeKey).mockResolvedValue();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Revoke obs" }));
    expect(revokeKey).not.toHaveBeenCalled();
    expect(screen.getByRole("button", { name: "Cancel" })).toHaveFocus();
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(screen.getByRole("button", { name: "Revoke obs" })).toHaveFocus();

    await user.click(screen.getByRole("button", { name: "Revoke obs" }));
    await user.click(screen.getByRole("button", { name: "Yes, revoke obs" }));
    expect(revokeKey).toHaveBeenCalledWith("k-1");
    expect(await screen.findByText("Key “obs” revoked.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Revoke obs" })).not.toBeInTheDocument();
  });

  it("shows why a revoke was refused", async () => {
    const user = userEvent.setup();
    vi.mocked(listKeys).mockResolvedValue([obs]);
    vi.mocked(revokeKey).mockRejectedValue(new ApiError(409, "this is the key making the request"));
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Revoke obs" }));
    await user.click(screen.getByRole("button", { name: "Yes, revoke obs" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("this is the key making the request");
  });

  it("tells a non-admin that keys are for admins", async () => {
    vi.mocked(listKeys).mockRejectedValue(new ApiError(403, "needs the admin role"));
    renderPage();
    expect(await screen.findByRole("alert")).toHaveTextContent("Only an admin key can manage keys.");
    expect(screen.queryByRole("button", { name: "Create key" })).not.toBeInTheDocument();
  });
});
