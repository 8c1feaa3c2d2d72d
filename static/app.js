// Small enhancements only: every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Forms that do something hard to undo ask first (also in rows refreshed below).
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm !== undefined
        && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // Password choice on Create/Edit account: the typed fields count only with "Type the password".
  const typed = document.getElementById("password_type");
  if (typed) {
    const fields = ["password", "password_confirm"]
      .map((id) => document.getElementById(id))
      .filter((field) => field);
    const modes = document.querySelectorAll("input[name=password_mode]");
    const syncPassword = () => {
      for (const field of fields) {
        field.disabled = !typed.checked;
        field.closest(".field")?.classList.toggle("is-disabled", !typed.checked);
      }
    };
    for (const mode of modes) mode.addEventListener("change", syncPassword);
    syncPassword();
    const hint = document.getElementById("password-typed-help");
    if (hint) hint.hidden = true;
  }

  // Connector settings show only for the connector they belong to.
  const connector = document.getElementById("connector");
  if (connector) {
    const sync = () => {
      for (const block of document.querySelectorAll("[data-connector]")) {
        block.classList.toggle("is-hidden", block.dataset.connector !== connector.value);
      }
    };
    connector.addEventListener("change", sync);
    sync();
  }

  // Live countdowns: <time datetime="…Z" data-countdown> shows local time and time left.
  const countdowns = () => document.querySelectorAll("time[data-countdown]");
  const describe = (ms) => {
    const past = ms < 0;
    const total = Math.round(Math.abs(ms) / 1000);
    const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    const part = h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${String(s).padStart(2, "0")} s` : `${s} s`;
    return past ? `${part} ago` : `in ${part}`;
  };
  const tick = () => {
    const now = Date.now();
    for (const el of countdowns()) {
      const at = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(at.getTime())) continue;
      const local = at.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
      el.textContent = `${local} (${describe(at.getTime() - now)})`;
    }
  };
  if (countdowns().length > 0) {
    tick();
    setInterval(tick, 1000);
  }

  // Dates: <time datetime="…Z" data-local> is shown in the viewer's time zone, with how long
  // ago (or how far ahead) it is; the server's UTC wording stays in the title.
  const relativeWords = (ms) => {
    const minutes = Math.round(Math.abs(ms) / 60000);
    if (minutes < 1) return ms < 0 ? "just now" : "in less than a minute";
    const hours = Math.floor(minutes / 60), days = Math.floor(hours / 24);
    const amount = days >= 1 ? `${days} day${days === 1 ? "" : "s"}`
      : hours >= 1 ? `${hours} hour${hours === 1 ? "" : "s"}`
      : `${minutes} minute${minutes === 1 ? "" : "s"}`;
    return ms < 0 ? `${amount} ago` : `in ${amount}`;
  };
  for (const el of document.querySelectorAll("time[data-local]")) {
    const at = new Date(el.getAttribute("datetime"));
    if (Number.isNaN(at.getTime())) continue;
    el.title = el.textContent;
    const local = at.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
    el.textContent = `${local} (${relativeWords(at.getTime() - Date.now())})`;
  }

  // Accounts being reset: fetch the page again every few seconds and put in the rows whose
  // reset has finished, until none is left.
  const resetting = () => [...document.querySelectorAll("tr[id] [data-resetting]")]
    .map((state) => state.closest("tr[id]"));
  if (resetting().length > 0) {
    for (const hint of document.querySelectorAll("[data-reload-hint]")) {
      hint.textContent = "This page updates by itself.";
    }
    const refresh = setInterval(async () => {
      const rows = resetting();
      if (rows.length === 0) {
        clearInterval(refresh);
        return;
      }
      try {
        const response = await fetch(window.location.href, { credentials: "same-origin" });
        if (!response.ok) return;
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
        for (const row of rows) {
          const next = fresh.getElementById(row.id);
          if (next && !next.querySelector("[data-resetting]")) {
            row.replaceWith(document.importNode(next, true));
          }
        }
      } catch (_) {
        // Offline for a moment: try again at the next tick.
      }
    }, 3000);
  }

  // Copy buttons: <button data-copy-target="id">.
  for (const button of document.querySelectorAll("button[data-copy-target]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const target = document.getElementById(button.dataset.copyTarget);
      if (!target) return;
      try {
        await navigator.clipboard.writeText(target.textContent.trim());
        const label = button.textContent;
        button.textContent = "Copied";
        setTimeout(() => { button.textContent = label; }, 2000);
      } catch (_) {
        button.textContent = "Copy failed: select and copy by hand";
      }
    });
  }
});
