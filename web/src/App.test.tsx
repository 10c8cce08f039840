import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { describe, expect, it } from "vitest";
import { App } from "./App";
import { AuthProvider } from "./auth";

function renderAt(path: string) {
  render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter initialEntries={[path]}>
        <AuthProvider>
          <App />
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("App", () => {
  it("sends a visitor without a key to sign in", () => {
    renderAt("/plugins");
    expect(screen.getByLabelText("API key")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Sign in" })).toBeInTheDocument();
  });

  it("shows the shell's nav around the page asked for", async () => {
    sessionStorage.setItem("clipforge.apiKey", "cf_x");
    renderAt("/upload");
    const nav = screen.getByRole("navigation", { name: "Main" });
    for (const name of ["Library", "Plugins", "Upload", "Keys"]) {
      expect(nav).toContainElement(screen.getByRole("link", { name }));
    }
    expect(await screen.findByRole("heading", { level: 1, name: "Upload" })).toBeInTheDocument();
  });
});
