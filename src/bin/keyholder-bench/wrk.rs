//! Drives GET pages with `wrk` (Debian package `wrk`): a closed loop of N connections, each
//! request taken in turn from a list of (path, session cookie) pairs, so many signed-in people
//! share the connections. Any answer other than 200 — a redirect to the sign-in page included —
//! counts as an error, as do socket errors and timeouts.

use std::io::Write;
use std::process::Command;

use anyhow::Context;

#[derive(Clone, Copy)]
pub struct Load {
    pub connections: usize,
    pub threads: usize,
    pub seconds: u64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Measured {
    pub requests: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: u64,
}

/// Tells where wrk is, or how to get it.
pub fn check_installed() -> anyhow::Result<()> {
    match Command::new("wrk").arg("--version").output() {
        Ok(_) => Ok(()),
        Err(_) => anyhow::bail!(
            "wrk is not installed. On Debian or Ubuntu: `sudo apt-get install wrk` \
             (scripts/bench-load installs it)"
        ),
    }
}

fn lua_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => out.push_str(&format!("\\{}", c as u32)),
        }
    }
    out.push('"');
    out
}

const SCRIPT: &str = r#"
local threads = {}
local next_id = 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
function init(args)
  reqs = {}
  for i, item in ipairs(list) do
    local headers = {}
    if item[2] ~= "" then headers["Cookie"] = item[2] end
    reqs[i] = wrk.format("GET", item[1], headers)
  end
  n = (id * 7919) % #reqs
  bad = 0
end
function request()
  n = n % #reqs + 1
  return reqs[n]
end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local not_ok = 0
  for _, t in ipairs(threads) do not_ok = not_ok + t:get("bad") end
  local e = summary.errors
  io.write(string.format("KEYHOLDER-WRK %d %d %d %d %d %d %d\n",
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, not_ok,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(99)),
    math.floor(latency.max)))
end
"#;

/// Runs wrk against `base` over `pairs` of (path, Cookie header value or "").
pub fn run(base: &str, pairs: &[(String, String)], load: &Load) -> anyhow::Result<Measured> {
    anyhow::ensure!(!pairs.is_empty(), "nothing to request");
    let mut script = tempfile::Builder::new().suffix(".lua").tempfile()?;
    writeln!(script, "list = {{")?;
    for (path, cookie) in pairs {
        writeln!(
            script,
            "  {{{}, {}}},",
            lua_string(path),
            lua_string(cookie)
        )?;
    }
    writeln!(script, "}}")?;
    script.write_all(SCRIPT.as_bytes())?;
    script.flush()?;
    let output = Command::new("wrk")
        .arg(format!("-t{}", load.threads))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.seconds))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(script.path())
        .arg(base)
        .output()
        .context("running wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("KEYHOLDER-WRK "))
        .with_context(|| {
            format!(
                "wrk printed no result: {stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    let n: Vec<u64> = line
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    anyhow::ensure!(n.len() == 7, "unexpected wrk result {line}");
    let seconds = n[1] as f64 / 1e6;
    Ok(Measured {
        requests: n[0],
        per_second: n[0] as f64 / seconds.max(1e-9),
        errors: n[2] + n[3],
        p50_ms: n[4] as f64 / 1000.0,
        p99_ms: n[5] as f64 / 1000.0,
        max_ms: n[6] as f64 / 1000.0,
    })
}
