import { lazy, Suspense } from "react";
import { Route, Routes } from "react-router-dom";
import { RequireAuth } from "./auth";
import { Layout } from "./components/Layout";
import { PluginsPage } from "./pages/PluginsPage";
import { SignInPage } from "./pages/SignInPage";

// The settings editor carries the JSON Schema form and its validator: loaded when first needed.
const PluginSettingsPage = lazy(() => import("./pages/PluginSettingsPage"));
const LibraryPage = lazy(() => import("./pages/LibraryPage"));
const ClipPage = lazy(() => import("./pages/ClipPage"));
const UploadPage = lazy(() => import("./pages/UploadPage"));
const KeysPage = lazy(() => import("./pages/KeysPage"));

function Lazy({ children }: { children: React.ReactNode }) {
  return <Suspense fallback={<p role="status">Loading…</p>}>{children}</Suspense>;
}

export function App() {
  return (
    <Routes>
      <Route path="/sign-in" element={<SignInPage />} />
      <Route
        element={
          <RequireAuth>
            <Layout />
          </RequireAuth>
        }
      >
        <Route index element={<Lazy><LibraryPage /></Lazy>} />
        <Route path="clips/:id" element={<Lazy><ClipPage /></Lazy>} />
        <Route path="plugins" element={<PluginsPage />} />
        <Route
          path="plugins/:id"
          element={<Lazy><PluginSettingsPage /></Lazy>}
        />
        <Route path="upload" element={<Lazy><UploadPage /></Lazy>} />
        <Route path="keys" element={<Lazy><KeysPage /></Lazy>} />
        <Route
          path="*"
          element={
            <section>
              <h1>Not found</h1>
              <p>Nothing lives at this address.</p>
            </section>
          }
        />
      </Route>
    </Routes>
  );
}
