//! clip_quality: a native clipforge plugin.
//!
//! Protocol (see the README's "Native plugins"): one JSON request on stdin,
//! `{"protocol": 1, "hook": "on_clip_captured", "clip": {...}, "config": {...}}`,
//! and one JSON response on stdout, `{"result": {...}}` or `{"error": "..."}`.

use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::io::{self, Read, Write};

#[derive(Deserialize)]
struct Request {
    hook: String,
    clip: Clip,
    #[serde(default)]
    config: Map<String, Value>,
}

#[derive(Deserialize)]
struct Clip {
    resolution: Option<String>,
    fps: Option<f64>,
    duration: Option<f64>,
    file_size: Option<u64>,
}

fn parse_resolution(text: &str) -> Option<(u64, u64)> {
    let (w, h) = text.split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}

fn resolution_class(height: u64) -> &'static str {
    match height {
        h if h >= 2160 => "4K",
        h if h >= 1440 => "1440p",
        h if h >= 1080 => "1080p",
        h if h >= 720 => "720p",
        _ => "SD",
    }
}

fn rate(clip: &Clip, config: &Map<String, Value>) -> Value {
    let smooth_fps = config.get("smooth_fps").and_then(Value::as_f64).unwrap_or(50.0);
    let mut out = Map::new();
    if let Some((w, h)) = clip.resolution.as_deref().and_then(parse_resolution) {
        out.insert("pixels".into(), json!(w * h));
        out.insert("resolution_class".into(), json!(resolution_class(h)));
    }
    if let Some(fps) = clip.fps {
        out.insert("smooth".into(), json!(fps >= smooth_fps));
    }
    if let (Some(size), Some(duration)) = (clip.file_size, clip.duration) {
        if duration > 0.0 {
            let kbps = (size as f64 * 8.0 / duration / 1000.0).round();
            out.insert("bitrate_kbps".into(), json!(kbps));
        }
    }
    let score = match out.get("resolution_class").and_then(Value::as_str) {
        Some("4K") => 5,
        Some("1440p") => 4,
        Some("1080p") => 3,
        Some("720p") => 2,
        Some(_) => 1,
        None => 0,
    } + if out.get("smooth") == Some(&json!(true)) { 1 } else { 0 };
    out.insert("quality_score".into(), json!(score));
    Value::Object(out)
}

fn respond(response: Value) -> ! {
    let mut stdout = io::stdout().lock();
    let _ = writeln!(stdout, "{response}");
    let _ = stdout.flush();
    std::process::exit(0)
}

fn main() {
    let mut input = String::new();
    if let Err(e) = io::stdin().read_to_string(&mut input) {
        respond(json!({"error": format!("cannot read stdin: {e}")}));
    }
    let request: Request = match serde_json::from_str(&input) {
        Ok(r) => r,
        Err(e) => respond(json!({"error": format!("bad request: {e}")})),
    };
    match request.hook.as_str() {
        "on_clip_captured" => respond(json!({"result": rate(&request.clip, &request.config)})),
        _ => respond(json!({"result": {}})),
    }
}
