import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { MemoryRouter, Route, Routes, useLocation } from "react-router-dom";
import type { Clip } from "../../api/clips";

/** Test fixtures and a router + query client to render pages in. Not part of the app's bundle. */

export function makeClip(overrides: Partial<Clip> = {}): Clip {
  return {
    id: "0b9c7c1e-5d5e-4c4e-9a51-3f0d8c1b2a01",
    title: "Epic Victory",
    description: "The last round",
    file_path: "/uploads/epic.mp4",
    resolution: "1920x1080",
    fps: 60,
    codec: "h264",
    duration: 125,
    file_size: 12_500_000,
    game_name: "Counter-Strike 2",
    game_id: null,
    status: "completed",
    tags: ["ace", "clutch"],
    metadata: {},
    recorded_at: null,
    created_at: "2026-01-15T18:30:00Z",
    updated_at: "2026-01-15T18:31:00Z",
    ...overrides,
  };
}

function Where() {
  const location = useLocation();
  return <output data-testid="location">{location.pathname + location.search}</output>;
}

export function renderWithRouter(
  render: (ui: ReactNode) => unknown,
  { path, route, element }: { path: string; route: string; element: ReactNode },
) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  render(
    <QueryClientProvider client={queryClient}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path={route} element={element} />
          <Route path="*" element={<p>Elsewhere</p>} />
        </Routes>
        <Where />
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return queryClient;
}
