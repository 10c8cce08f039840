import { lazy, Suspense } from "react";
import { Route, Routes } from "react-router-dom";
import { RequireAuth } from "./auth";
import { ComingNext, Layout } from "./components/Layout";
import { PluginsPage } from "./pages/PluginsPage";
import { SignInPage } from "./pages/SignInPage";

// The settings editor carries the JSON Schema form and its validator: loaded when first needed.
const PluginSettingsPage = lazy(() => import("./pages/PluginSettingsPage"));

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
        <Route index element={<ComingNext title="Library" what="browsing, searching and playing your clips." />} />
        <Route path="plugins" element={<PluginsPage />} />
        <Route
          path="plugins/:id"
          element={
            <Suspense fallback={<p role="status">Loading…</p>}>
              <PluginSettingsPage />
            </Suspense>
          }
        />
        <Route path="upload" element={<ComingNext title="Upload" what="uploading clips from this page." />} />
        <Route path="keys" element={<ComingNext title="API keys" what="creating and revoking API keys." />} />
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
