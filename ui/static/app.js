// Berth's web UI: plain JavaScript over the JSON API of docs/api.md.
// Every page reads a bounded slice of the cluster (paged, filtered on the
// server) and re-reads it when GET /v1/events says the status changed.
// The API token lives in sessionStorage and only ever travels in an
// Authorization header.
'use strict';
(() => {
  const main = document.getElementById('main');
  const banner = document.getElementById('banner');
  const TOKEN_KEY = 'berth.token';
  const token = () => sessionStorage.getItem(TOKEN_KEY) || '';

  // ---------- helpers ----------
  const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const short = (c) => (c ? String(c).slice(0, 12) : '—');
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const isZero = (t) => !t || t.startsWith('0001-');
  const pad = (n) => String(n).padStart(2, '0');
  function fmtTime(t) {
    if (isZero(t)) return '—';
    const d = new Date(t);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
  }
  function dur(ms) {
    if (ms < 0) ms = -ms;
    const s = Math.round(ms / 1000);
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ''}`;
    if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)}m` : ''}`;
    return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) ? ` ${Math.floor((s % 86400) / 3600)}h` : ''}`;
  }
  function rel(t) {
    if (isZero(t)) return '—';
    const ms = new Date(t).getTime() - Date.now();
    return ms > 0 ? `in ${dur(ms)}` : `${dur(ms)} ago`;
  }
  // timeEl shows t relative to now ("5m ago", or "5m" as an age); the
  // ticker below keeps it current between refreshes.
  const relText = (t, age) => (age ? dur(Date.now() - new Date(t).getTime()) : rel(t));
  const timeEl = (t, age) => (isZero(t) ? '—' : `<time datetime="${esc(t)}" title="${esc(fmtTime(t))}"${age ? ' data-age' : ''}>${esc(relText(t, age))}</time>`);
  setInterval(() => {
    document.querySelectorAll('main time[datetime]').forEach((el) => { el.textContent = relText(el.dateTime, el.hasAttribute('data-age')); });
  }, 5000);
  function num(n, digits = 2) {
    if (n == null) return '—';
    return Number.isInteger(n) ? String(n) : n.toFixed(digits).replace(/\.?0+$/, '');
  }
  function mib(n) {
    if (n == null) return '—';
    if (n >= 1024 * 1024) return `${num(n / 1024 / 1024, 1)} TiB`;
    if (n >= 1024) return `${num(n / 1024, 1)} GiB`;
    return `${num(n, 0)} MiB`;
  }
  const tone = {
    Healthy: 'ok', Synced: 'ok', RUNNING: 'ok', SUCCEEDED: 'ok', FINISHED: 'ok', healthy: 'ok',
    Progressing: 'info', STAGING: 'info', STARTING: 'info', PENDING: 'info', KILLING: 'info',
    OutOfSync: 'warn', Suspended: '', SKIPPED: 'warn', KILLED: '',
    Degraded: 'bad', FAILED: 'bad', LOST: 'bad', UNREACHABLE: 'bad', unhealthy: 'bad',
  };
  const badge = (v, label) => (v ? `<span class="badge ${tone[v] ?? ''}">${esc(label ?? v)}</span>` : '<span class="muted">—</span>');
  // bar is a meter of used against total; a progress bar (done against
  // wanted) turns green when complete instead of red when full.
  function bar(used, total, label, progress) {
    const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
    const cls = progress ? (pct >= 100 ? 'done' : 'progress') : pct >= 95 ? 'full' : pct >= 80 ? 'hi' : '';
    return `<div class="bar ${cls}" role="meter" aria-label="${esc(label)}" aria-valuemin="0" aria-valuemax="${esc(total)}" aria-valuenow="${esc(used)}"><span data-w="${pct.toFixed(1)}"></span></div>`;
  }
  // The page's CSP forbids style attributes in markup: widths are set here.
  function applyWidths(el) {
    el.querySelectorAll('[data-w]').forEach((s) => { s.style.width = `${s.dataset.w}%`; });
    el.querySelectorAll('[data-l]').forEach((s) => { s.style.left = `${s.dataset.l}%`; });
  }
  const appURL = (id) => `/ui/apps${id.split('/').map(encodeURIComponent).join('/')}`;
  const appLink = (id) => `<a href="${esc(appURL(id))}">${esc(id)}</a>`;
  const jobLink = (n) => `<a href="/ui/jobs/${esc(encodeURIComponent(n))}">${esc(n)}</a>`;
  const qs = (o) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(o)) if (v !== '' && v != null) p.set(k, v);
    const s = p.toString();
    return s ? `?${s}` : '';
  };

  // ---------- API ----------
  class APIError extends Error {
    constructor(status, message, body) { super(message); this.status = status; this.body = body; }
  }
  async function api(path, { method = 'GET', signal } = {}) {
    const headers = { Accept: 'application/json' };
    if (token()) headers.Authorization = `Bearer ${token()}`;
    let res;
    for (let attempt = 1; ; attempt++) {
      try {
        res = await fetch(path, { method, headers, signal, cache: 'no-store' });
        break;
      } catch (e) {
        if (e.name === 'AbortError') throw e;
        // A read dropped by the browser (its network changed) is retried;
        // a write is not, as it may have reached the server.
        if (method !== 'GET' || attempt >= 3) throw new APIError(0, `the server did not answer (${e.message})`);
        await sleep(300 * attempt);
      }
    }
    const text = await res.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = null; }
    if (!res.ok) throw new APIError(res.status, (body && body.error) || `${res.status} ${res.statusText}`, body);
    const total = res.headers.get('X-Total-Count');
    return { body, total: total == null ? null : Number(total) };
  }
  const get = async (path, signal) => (await api(path, { signal })).body;
  // textOf reads a plain-text answer (a task's logs); errors are the API's.
  async function textOf(path) {
    const headers = { Accept: 'text/plain' };
    if (token()) headers.Authorization = `Bearer ${token()}`;
    let res;
    try {
      res = await fetch(path, { headers, cache: 'no-store' });
    } catch (e) {
      throw new APIError(0, `the server did not answer (${e.message})`);
    }
    const text = await res.text();
    if (!res.ok) {
      let msg = `${res.status} ${res.statusText}`;
      try { msg = JSON.parse(text).error || msg; } catch { /* not the API's JSON */ }
      throw new APIError(res.status, msg, null);
    }
    return text;
  }
  const logTailLines = 50;

  function showBanner(html, note) {
    banner.innerHTML = html;
    banner.className = note ? 'banner note' : 'banner';
    banner.hidden = !html;
  }
  function readError(e) {
    if (e.name === 'AbortError') return;
    if (e.status === 401) {
      showBanner('This server protects reads: <button class="btn small" type="button" data-act="token">enter the API token</button> to see the cluster.');
    } else {
      showBanner(`Could not read the cluster: ${esc(e.message)}`);
    }
  }

  // Writes: the token is asked for once per browser session.
  async function write(path, msgEl, okText) {
    if (!token()) {
      const entered = await askToken();
      if (!entered) {
        msgEl.className = 'msg bad';
        msgEl.textContent = 'Not sent: this action needs the API token.';
        return false;
      }
    }
    try {
      await api(path, { method: 'POST' });
      msgEl.className = 'msg ok';
      msgEl.textContent = okText;
      return true;
    } catch (e) {
      msgEl.className = 'msg bad';
      msgEl.textContent = e.status === 401 ? 'Refused: the server did not accept this token.' : `Failed: ${e.message}`;
      if (e.status === 401) setToken('');
      return false;
    }
  }

  // ---------- token ----------
  const dialog = document.getElementById('token-dialog');
  const tokenInput = document.getElementById('token-input');
  const tokenBtn = document.getElementById('token-btn');
  let tokenWaiter = null;
  function setToken(t) {
    if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
    tokenBtn.textContent = t ? 'Forget token' : 'Enter token';
    tokenBtn.setAttribute('aria-label', t ? 'Forget the API token for this session' : 'Enter the API token');
    restartStream();
  }
  function askToken() {
    tokenInput.value = '';
    dialog.showModal();
    tokenInput.focus();
    return new Promise((resolve) => { tokenWaiter = resolve; });
  }
  function closeToken(ok) {
    if (dialog.open) dialog.close();
    if (tokenWaiter) { tokenWaiter(ok); tokenWaiter = null; }
  }
  document.getElementById('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = tokenInput.value.trim();
    tokenInput.value = '';
    if (!t) return;
    setToken(t);
    closeToken(true);
    if (!tokenWaiter) refreshPage(true);
  });
  document.getElementById('token-cancel').addEventListener('click', () => closeToken(false));
  dialog.addEventListener('cancel', () => closeToken(false));
  tokenBtn.addEventListener('click', async () => {
    if (token()) { setToken(''); refreshPage(true); return; }
    if (await askToken()) refreshPage(true);
  });
  document.addEventListener('click', async (ev) => {
    const b = ev.target.closest('[data-act="token"]');
    if (b && await askToken()) { showBanner(''); refreshPage(true); }
  });

  // ---------- live status (GET /v1/events?summary=1 over fetch, so the token goes in a header) ----------
  const liveEl = document.getElementById('live');
  const live = { status: null, ctl: null };
  function setLive(state, text) {
    liveEl.className = `live ${state}`;
    liveEl.textContent = text;
  }
  function restartStream() { if (live.ctl) live.ctl.abort(); }
  // A page left for another keeps nothing open: the browser allows a few
  // connections per server, and a stream left behind (a page kept in the
  // back-forward cache) would hold one.
  window.addEventListener('pagehide', () => { live.stopped = true; restartStream(); });
  window.addEventListener('pageshow', (ev) => { if (ev.persisted) { live.stopped = false; stream(); refreshPage(true); } });
  async function stream() {
    let delay = 1000;
    while (!live.stopped) {
      live.ctl = new AbortController();
      try {
        const headers = { Accept: 'text/event-stream' };
        if (token()) headers.Authorization = `Bearer ${token()}`;
        const res = await fetch('/v1/events?summary=1', { headers, signal: live.ctl.signal, cache: 'no-store' });
        if (!res.ok) throw new APIError(res.status, res.statusText);
        setLive('on', 'live');
        delay = 1000;
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            onEvent(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
        }
        setLive('off', 'reconnecting…');
      } catch (e) {
        if (e.name !== 'AbortError') setLive('off', e.status === 401 ? 'needs token' : 'disconnected');
      }
      await sleep(live.ctl.signal.aborted ? 50 : delay);
      delay = Math.min(delay * 2, 15000);
    }
  }
  function onEvent(chunk) {
    let name = 'message';
    let data = '';
    for (const line of chunk.split('\n')) {
      if (line.startsWith('event:')) name = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    if (name !== 'status' || !data) return;
    try { live.status = JSON.parse(data); } catch { return; }
    liveEl.title = `Live: commit ${short(live.status.desired)}`;
    refreshPage(false);
  }

  // ---------- router ----------
  let current = null;
  let refreshTimer = null;
  let lastRefresh = 0;
  // refreshPage re-reads the current page's data: at once when asked by the
  // user, at most once a second when driven by events.
  function refreshPage(now) {
    if (!current || !current.refresh || (!now && current.manual)) return;
    clearTimeout(refreshTimer);
    const wait = now ? 0 : Math.max(0, 1000 - (Date.now() - lastRefresh));
    refreshTimer = setTimeout(async () => {
      lastRefresh = Date.now();
      const page = current;
      try {
        await page.refresh();
        if (page === current) showBanner('');
      } catch (e) {
        if (page === current) readError(e); // else the user has moved on
      }
    }, wait);
  }
  const routes = [
    [/^\/ui\/?$/, 'overview', overviewPage],
    [/^\/ui\/apps\/?$/, 'apps', appsPage],
    [/^\/ui\/apps(\/.+)$/, 'apps', appPage],
    [/^\/ui\/agents\/?$/, 'agents', agentsPage],
    [/^\/ui\/jobs\/?$/, 'jobs', jobsPage],
    [/^\/ui\/jobs\/([^/]+)$/, 'jobs', jobPage],
    [/^\/ui\/queues\/?$/, 'queues', queuesPage],
    [/^\/ui\/diff\/?$/, 'diff', diffPage],
    [/^\/ui\/templates\/?$/, 'templates', templatesPage],
  ];
  function route() {
    const path = location.pathname;
    if (current && current.leave) current.leave();
    current = null;
    showBanner('');
    for (const [re, nav, page] of routes) {
      const m = path.match(re);
      if (!m) continue;
      document.querySelectorAll('[data-nav]').forEach((a) => {
        if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
      });
      current = page(m.slice(1).map(decodeURIComponent), new URLSearchParams(location.search)) || {};
      refreshPage(true);
      return;
    }
    main.innerHTML = '<h1>Not found</h1><p class="sub">No page here. <a href="/ui/">Overview</a></p>';
  }
  function go(url, replace) {
    if (replace) history.replaceState(null, '', url); else history.pushState(null, '', url);
    route();
    main.focus({ preventScroll: true });
  }
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest('a[href^="/ui/"], a[href="/ui"]');
    if (!a || ev.metaKey || ev.ctrlKey || ev.shiftKey || a.target) return;
    ev.preventDefault();
    if (a.getAttribute('href') !== location.pathname + location.search) go(a.getAttribute('href'));
  });
  window.addEventListener('popstate', route);

  function setTitle(t) { document.title = t ? `${t} · Berth` : 'Berth'; }
  function pager(total, offset, limit, onPage) {
    const div = document.createElement('div');
    div.className = 'pager';
    const first = total ? offset + 1 : 0;
    const last = Math.min(total, offset + limit);
    div.innerHTML = `<span>${first}–${last} of ${total}</span>
      <button class="btn small" type="button" data-p="prev" ${offset <= 0 ? 'disabled' : ''}>Previous</button>
      <button class="btn small" type="button" data-p="next" ${last >= total ? 'disabled' : ''}>Next</button>`;
    div.addEventListener('click', (ev) => {
      const b = ev.target.closest('[data-p]');
      if (!b || b.disabled) return;
      onPage(b.dataset.p === 'next' ? offset + limit : Math.max(0, offset - limit));
    });
    return div;
  }

  // ---------- Overview ----------
  function overviewPage() {
    setTitle('Overview');
    main.innerHTML = `<div class="page-head"><div><h1>Overview</h1><p class="sub">The cluster as the leader sees it, updated live.</p></div>
      <div><button class="btn primary" type="button" id="sync-now">Sync now</button><div id="sync-msg" class="msg" role="status"></div></div></div>
      <div id="ov"></div>`;
    document.getElementById('sync-now').addEventListener('click', () =>
      write('/v1/sync', document.getElementById('sync-msg'), 'Sync started: the leader fetches Git and reconciles now.'));
    return {
      async refresh() {
        const [st, sync] = await Promise.all([get('/v1/status'), live.status ? Promise.resolve(live.status) : get('/v1/sync?summary=1')]);
        const lost = (st.agents || []).filter((a) => !a.reachable);
        const bySync = sync.appsBySync || {};
        const byHealth = sync.appsByHealth || {};
        const total = sync.appCount || 0;
        const cnt = (o, k, t) => `<div class="count-row"><a href="/ui/apps${qs(t)}">${badge(k)}</a><div class="bar tone-${tone[k] || 'idle'}"><span data-w="${total ? ((o[k] || 0) / total * 100).toFixed(1) : 0}"></span></div><b>${o[k] || 0}</b></div>`;
        const servers = (st.servers || []).map((s) => `<span class="tag">${esc(s.id)}${s.id === st.leader ? ' ★' : ''} ${esc(s.address)}</span>`).join(' ');
        const rej = sync.rejected;
        document.getElementById('ov').innerHTML = `
          ${rej ? `<div class="card alert section" id="rejected"><h2><span class="dot bad"></span>Commit ${esc(short(rej.commit))} rejected ${timeEl(rej.since)}</h2>
            <p class="muted">The cluster stays on ${esc(short(sync.desired))}, the last valid commit. Fix these and push:</p>
            <ul class="errors">${rej.errors.map((e) => `<li>${esc(e)}</li>`).join('')}</ul></div>` : ''}
          <div class="grid cols-4 section">
            <div class="card stat"><div class="label">Apps</div><div class="num" id="app-count">${sync.appCount ?? 0}</div>
              <div class="muted">${sync.converged ? '<span class="dot ok"></span>converged' : '<span class="dot info"></span>converging'}</div></div>
            <div class="card stat"><div class="label">Jobs failing</div><div class="num">${(sync.jobsFailing || []).length}<span class="muted"> / ${sync.jobCount ?? 0}</span></div>
              <div>${(sync.jobsFailing || []).map(jobLink).join(', ') || '<span class="muted">none</span>'}</div></div>
            <div class="card stat"><div class="label">Agents lost</div><div class="num">${lost.length}<span class="muted"> / ${(st.agents || []).length}</span></div>
              <div>${lost.map((a) => esc(a.id)).join(', ') || '<span class="muted">none</span>'}</div></div>
            <div class="card stat"><div class="label">Orphans</div><div class="num">${(sync.orphans || []).length}</div>
              <div class="muted">${(sync.orphans || []).map(esc).join(', ') || 'apps no manifest declares'}</div></div>
          </div>
          <div class="grid cols-2 section">
            <div class="card"><h2>Control plane</h2><dl class="kv">
              <dt>Leader</dt><dd>${st.leader ? `<b>${esc(st.leader)}</b> at <span class="mono">${esc(st.leaderAddress || '')}</span>, term ${esc(st.term)}` : '<span class="badge bad">no leader</span>'}</dd>
              <dt>Replicas</dt><dd>${servers || '—'}</dd>
              <dt>Answered by</dt><dd>${esc(st.id)} (${esc(st.role)})</dd>
              <dt>Applied commit</dt><dd class="mono" id="desired">${esc(short(sync.desired))}</dd>
              <dt>Branch head</dt><dd class="mono">${esc(short(sync.head))} ${sync.head && sync.head !== sync.desired ? '<span class="badge bad">not applied</span>' : ''}</dd>
              <dt>Statuses of</dt><dd class="mono" id="decided">${esc(short(sync.decided))} ${sync.decided && sync.head && sync.decided !== sync.head && !(sync.rejected && sync.rejected.commit === sync.head) ? '<span class="badge warn">head not decided yet</span>' : ''}</dd>
              <dt>Last fetch</dt><dd>${timeEl(sync.fetchedAt)}</dd>
              ${sync.gitError ? `<dt>Git</dt><dd class="errors">${esc(sync.gitError)}</dd>` : ''}
              ${sync.lastError ? `<dt>Last error</dt><dd class="errors">${sync.lastErrorCommit ? `applying ${esc(short(sync.lastErrorCommit))}: ` : ''}${esc(sync.lastError)}</dd>` : ''}
            </dl></div>
            <div class="card"><h2>Apps by sync and health</h2>
              <h3>Sync</h3>${['Synced', 'OutOfSync'].map((k) => cnt(bySync, k, { sync: k })).join('')}
              <h3>Health</h3>${['Healthy', 'Progressing', 'Degraded', 'Suspended'].map((k) => cnt(byHealth, k, { health: k })).join('')}
            </div>
          </div>`;
        applyWidths(main);
      },
    };
  }

  // healthBar is Marathon's health bar: healthy, running but not (yet)
  // healthy, and staged tasks, against the declared count ("2/3 healthy").
  function healthBar(a) {
    const m = /(\d+)\/(\d+) healthy/.exec(a.message || '');
    const running = a.running ?? a.instances;
    const staged = a.staged ?? 0;
    const want = Math.max(m ? Number(m[2]) : 0, running + staged, 1);
    const w = (n) => ((Math.max(0, n) / want) * 100).toFixed(1);
    return `<div class="seg" role="img" aria-label="${a.healthy} healthy, ${running} running, ${staged} staged of ${want}">
      <span class="ok" data-w="${w(a.healthy)}"></span><span class="info" data-w="${w(running - a.healthy)}"></span><span class="warn" data-w="${w(staged)}"></span></div>`;
  }

  // ---------- Apps ----------
  function appsPage(_, params) {
    setTitle('Apps');
    const f = { q: params.get('q') || '', sync: params.get('sync') || '', health: params.get('health') || '' };
    let offset = Number(params.get('offset') || 0);
    const limit = 50;
    const opt = (v, sel) => `<option value="${v}" ${v === sel ? 'selected' : ''}>${v || 'any'}</option>`;
    main.innerHTML = `<h1>Apps</h1><p class="sub">Every declared app; filtered and paged on the server.</p>
      <form class="toolbar" id="filters" role="search">
        <label class="muted" for="f-q">Filter</label><input type="search" id="f-q" placeholder="app id contains…" value="${esc(f.q)}">
        <label class="muted" for="f-sync">Sync</label><select id="f-sync">${['', 'Synced', 'OutOfSync'].map((v) => opt(v, f.sync)).join('')}</select>
        <label class="muted" for="f-health">Health</label><select id="f-health">${['', 'Healthy', 'Progressing', 'Degraded', 'Suspended'].map((v) => opt(v, f.health)).join('')}</select>
      </form>
      <div class="card flush"><div class="table-wrap" id="apps"></div><div id="apps-pager"></div></div>`;
    const form = document.getElementById('filters');
    let typing;
    const apply = () => {
      f.q = document.getElementById('f-q').value.trim();
      f.sync = document.getElementById('f-sync').value;
      f.health = document.getElementById('f-health').value;
      offset = 0;
      history.replaceState(null, '', `/ui/apps${qs(f)}`);
      refreshPage(true);
    };
    form.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(apply, 250); });
    form.addEventListener('submit', (ev) => { ev.preventDefault(); apply(); });
    return {
      async refresh() {
        const { body: apps, total } = await api(`/v1/apps${qs({ ...f, counts: 1, limit, offset })}`);
        document.getElementById('apps').innerHTML = apps.length ? `<table><thead><tr>
            <th>App</th><th>Sync</th><th>Health</th><th class="num" title="healthy / running / staged">Healthy / running / staged</th><th>Queue</th><th>Version</th><th>Message</th></tr></thead><tbody>
          ${apps.map((a) => `<tr data-app="${esc(a.id)}"><td>${appLink(a.id)}</td><td>${badge(a.sync)}</td><td>${badge(a.health)}</td>
            <td class="num"><div class="inst">${healthBar(a)}<span>${a.healthy} / ${a.running ?? a.instances} / ${a.staged ?? 0}</span></div></td><td>${esc(a.queue || '—')}</td>
            <td class="mono">${esc(a.version)}</td><td>${esc(a.message || '')}${a.unplaced ? `<div class="errors">${esc(a.unplaced)}</div>` : ''}</td></tr>`).join('')}
          </tbody></table>` : '<div class="empty">No app matches.</div>';
        document.getElementById('apps-pager').replaceChildren(pager(total ?? apps.length, offset, limit, (o) => { offset = o; refreshPage(true); }));
        applyWidths(main);
      },
    };
  }

  // ---------- App ----------
  function appPage([id]) {
    setTitle(id);
    let offset = 0;
    const limit = 100;
    let selected = '';
    let prev = null;
    const events = [];
    main.innerHTML = `<div class="page-head"><div><p class="sub"><a href="/ui/apps">Apps</a> /</p><h1 id="app-title">${esc(id)}</h1><div id="app-badges"></div></div></div>
      <div class="grid cols-2"><div class="card" id="deploy"></div><div class="card" id="app-info"></div></div>
      <div class="card flush section"><h2>Tasks</h2><div class="table-wrap" id="tasks"></div><div id="tasks-pager"></div></div>
      <div class="card section" id="log"><h2>Log tail</h2><p class="muted">Select a task to see the last lines of its output.</p></div>
      <div class="grid cols-2 section"><div class="card flush" id="manifest"><h2>Manifest</h2></div><div class="card"><h2>Recent events</h2><ul class="events" id="events"></ul></div></div>`;
    document.getElementById('tasks').addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr[data-task]');
      if (!tr) return;
      ev.preventDefault(); // the link's #log would count as a navigation
      selected = tr.dataset.task;
      refreshPage(true);
      document.getElementById('log').scrollIntoView({ block: 'nearest' });
    });
    let manifestLoaded = '';
    function note(text, t) { events.unshift({ t: t || new Date().toISOString(), text }); events.splice(30); }
    return {
      async refresh() {
        const enc = id.split('/').map(encodeURIComponent).join('/');
        const [app, rows, tasksRes, deps] = await Promise.all([
          get(`/v1/apps${enc}`),
          get(`/v1/apps${qs({ q: id, counts: 1 })}`),
          api(`/v1/tasks${qs({ app: id, limit, offset })}`),
          get('/v1/deployments'),
        ]);
        const row = rows.find((r) => r.id === id) || {};
        const tasks = tasksRes.body;
        const total = tasksRes.total ?? tasks.length;
        if (prev && (prev.sync !== app.sync || prev.health !== app.health || prev.message !== app.message)) {
          note(`status: ${app.sync}, ${app.health}: ${app.message || ''}`);
        } else if (!prev) note(`status: ${app.sync}, ${app.health}: ${app.message || ''}`);
        prev = app;
        document.getElementById('app-badges').innerHTML = `${badge(app.sync)} ${badge(app.health)} <span class="muted">${esc(app.message || '')}</span>`;
        const dep = deps.find((d) => d.app === id);
        const m = /(\d+)\/(\d+) healthy/.exec(app.message || '');
        const want = m ? Number(m[2]) : app.instances;
        document.getElementById('deploy').innerHTML = `<h2>Deployment</h2>${dep
          ? `<p><span class="badge info">in progress</span> to version <span class="mono">${esc(dep.version)}</span> of commit <span class="mono">${esc(short(dep.commit))}</span></p>`
          : '<p><span class="badge ok">no rollout under way</span></p>'}
          <div class="bar-row"><span>healthy</span>${bar(app.healthy, want || 0, 'healthy instances', true)}<span class="v">${app.healthy} of ${want}</span></div>
          <div class="bar-row"><span>current</span>${bar(app.instances, want || 0, 'instances of the current version', true)}<span class="v">${app.instances} of ${want}</span></div>
          ${dep && dep.message ? `<p class="muted">${esc(dep.message)}</p>` : ''}${app.unplaced ? `<p class="errors">${esc(app.unplaced)}</p>` : ''}`;
        document.getElementById('app-info').innerHTML = `<h2>Instances</h2><dl class="kv">
          <dt>Healthy / running / staged</dt><dd id="instances">${app.healthy} / ${row.running ?? '—'} / ${row.staged ?? '—'}</dd>
          <dt>Version</dt><dd class="mono">${esc(app.version)}</dd><dt>Queue</dt><dd>${esc(row.queue || '—')}</dd>
          <dt>Tasks (all versions)</dt><dd>${total}</dd></dl>`;
        document.getElementById('tasks').innerHTML = tasks.length ? `<table><thead><tr><th>Task</th><th>Agent</th><th>State</th><th>Health</th><th>Host ports</th><th>Version</th><th>Age</th></tr></thead><tbody>
          ${tasks.map((t) => {
            const st = t.kill && !['KILLED', 'FINISHED', 'FAILED'].includes(t.status.state) ? 'KILLING' : (t.status.state || 'STAGING');
            return `<tr data-task="${esc(t.taskId)}" ${t.taskId === selected ? 'aria-selected="true"' : ''}><td class="mono"><a href="#log" data-task-link>${esc(t.taskId)}</a></td><td>${esc(t.agentId)}</td><td>${badge(st)}</td>
            <td>${badge(t.status.health)}</td><td class="mono">${esc((t.status.hostPorts || []).join(', ') || '—')}</td>
            <td class="mono">${esc(t.version)}${t.version !== app.version ? ' <span class="badge warn">old</span>' : ''}</td><td>${timeEl(isZero(t.status.startedAt) ? t.createdAt : t.status.startedAt, true)}</td></tr>`;
          }).join('')}</tbody></table>` : '<div class="empty">No tasks.</div>';
        document.getElementById('tasks-pager').replaceChildren(pager(total, offset, limit, (o) => { offset = o; refreshPage(true); }));
        for (const t of tasks) {
          const key = `${t.taskId} ${t.status.state}`;
          if (!events.some((e) => e.key === key) && !isZero(t.status.updatedAt)) {
            events.push({ key, t: t.status.updatedAt, text: `task ${t.taskId} ${(t.status.state || 'STAGING').toLowerCase()} on ${t.agentId}` });
          }
        }
        events.sort((a, b) => (a.t < b.t ? 1 : -1));
        events.splice(30);
        document.getElementById('events').innerHTML = events.map((e) => `<li>${timeEl(e.t)}<span>${esc(e.text)}</span></li>`).join('') || '<li class="muted">none yet</li>';
        const sel = tasks.find((t) => t.taskId === selected);
        if (sel) {
          // The last lines of the task's output, from its agent through the
          // server; an ended task's tail is also in its status.
          let tail = null;
          let why = '';
          try {
            tail = await textOf(`/v1/tasks/${encodeURIComponent(sel.taskId)}/logs${qs({ tail: logTailLines })}`);
          } catch (e) {
            why = e.message;
          }
          if (tail === null && sel.status.outputTail) tail = sel.status.outputTail;
          document.getElementById('log').innerHTML = `<h2>Log tail of <span class="mono">${esc(sel.taskId)}</span></h2>${tail !== null
            ? `<pre class="log" id="log-text">${esc(tail) || '<span class="muted">no output yet</span>'}</pre><p class="muted">The last ${logTailLines} lines; follow them with <code>berth logs ${esc(sel.taskId)} -f</code>.</p>`
            : `<p class="muted">The output of this task cannot be read now (${esc(why)}); try <code>berth logs ${esc(sel.taskId)} -f</code>.</p>`}
            ${sel.status.message ? `<p>${esc(sel.status.message)}</p>` : ''}`;
        }
        if (manifestLoaded !== live.status?.desired || !manifestLoaded) {
          try {
            const mf = await get(`/v1/manifest${qs({ app: id })}`);
            manifestLoaded = mf.commit;
            document.getElementById('manifest').innerHTML = `<h2>Manifest <span class="muted mono">${esc(mf.file)}:${esc(mf.line)} at ${esc(short(mf.commit))}</span></h2>${srcView(mf.source, mf.line)}`;
          } catch (e) {
            document.getElementById('manifest').innerHTML = `<h2>Manifest</h2><p class="errors">${esc(e.message)}</p>`;
          }
        }
        applyWidths(main);
      },
    };
  }
  // srcView shows a file with line numbers, marking the object that starts
  // at line (up to the next YAML document).
  function srcView(src, line) {
    const lines = src.replace(/\n$/, '').split('\n');
    let end = lines.length;
    for (let i = line; i < lines.length; i++) if (lines[i] === '---') { end = i; break; }
    return `<pre class="src">${lines.map((l, i) => `<span class="l${i + 1 >= line && i < end ? ' mark' : ''}">${esc(l) || ' '}</span>`).join('')}</pre>`;
  }

  // ---------- Agents ----------
  function agentsPage(_, params) {
    setTitle('Agents');
    let offset = 0;
    const limit = 48;
    let q = params.get('q') || '';
    const open = new Set();
    main.innerHTML = `<h1>Agents</h1><p class="sub">What each agent offers and what its tasks reserve of it.</p>
      <form class="toolbar" role="search" id="af"><label class="muted" for="a-q">Filter</label><input type="search" id="a-q" placeholder="id, host or address contains…" value="${esc(q)}"></form>
      <div class="agents" id="agents"></div><div id="agents-pager"></div>`;
    let typing;
    document.getElementById('af').addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(() => { q = document.getElementById('a-q').value.trim(); offset = 0; refreshPage(true); }, 250);
    });
    document.getElementById('af').addEventListener('submit', (ev) => ev.preventDefault());
    document.getElementById('agents').addEventListener('toggle', (ev) => {
      const d = ev.target;
      if (!d.dataset || !d.dataset.agent) return;
      if (d.open) { open.add(d.dataset.agent); loadTasks(d); } else open.delete(d.dataset.agent);
    }, true);
    async function loadTasks(d) {
      const { body, total } = await api(`/v1/tasks${qs({ agent: d.dataset.agent, limit: 50, offset: 0 })}`);
      d.querySelector('.tl').innerHTML = body.length ? `<table><tbody>${body.map((t) => `<tr><td class="mono">${esc(t.taskId)}</td><td>${t.owner === 'app' ? appLink(t.ownerId) : jobLink(t.ownerId)}</td><td>${badge(t.kill ? 'KILLING' : (t.status.state || 'STAGING'))}</td></tr>`).join('')}</tbody></table>${total > 50 ? `<p class="muted">first 50 of ${total}</p>` : ''}` : '<p class="muted">No tasks.</p>';
    }
    return {
      async refresh() {
        const { body: agents, total } = await api(`/v1/agents${qs({ q, usage: 1, limit, offset })}`);
        const res = (a, k, label, fmt) => `<div class="bar-row"><span>${label}</span>${bar(a.used[k], a.resources[k], `${label} used`)}<span class="v">${fmt(a.used[k])} / ${fmt(a.resources[k])} · <b>${fmt(Math.max(0, a.resources[k] - a.used[k]))}</b> free</span></div>`;
        const el = document.getElementById('agents');
        el.innerHTML = agents.map((a) => `<section class="card agent" aria-labelledby="ag-${esc(a.id)}">
            <h2><span id="ag-${esc(a.id)}">${esc(a.id)}</span>${a.reachable ? badge('Healthy', 'reachable') : badge('LOST', 'lost')}</h2>
            <p class="muted">${esc(a.hostname)} · <span class="mono">${esc(a.address)}</span>${a.version ? ` · ${esc(a.version)}` : ''} · up ${timeEl(a.registeredAt, true)}</p>
            ${res(a, 'cpus', 'CPU', (v) => num(v))}${res(a, 'mem', 'Mem', mib)}${res(a, 'disk', 'Disk', mib)}
            <p class="tags">${Object.entries(a.attributes || {}).map(([k, v]) => `<span class="tag">${esc(k)}=${esc(v)}</span>`).join('') || '<span class="muted">no attributes</span>'}
              ${(a.ports || []).map((p) => `<span class="tag">ports ${p.begin}–${p.end}</span>`).join('')}</p>
            <details data-agent="${esc(a.id)}" ${open.has(a.id) ? 'open' : ''}><summary>${a.tasks} task${a.tasks === 1 ? '' : 's'}</summary><div class="tl"></div></details>
          </section>`).join('') || '<div class="empty card">No agent matches.</div>';
        document.getElementById('agents-pager').replaceChildren(pager(total ?? agents.length, offset, limit, (o) => { offset = o; refreshPage(true); }));
        el.querySelectorAll('details[open]').forEach(loadTasks);
        applyWidths(el);
      },
    };
  }

  // ---------- Jobs ----------
  const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  function isoDuration(d) {
    const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(d);
    if (!m) return null;
    const names = ['year', 'month', 'week', 'day', 'hour', 'minute', 'second'];
    const v = names.map((n, i) => Number(m[i + 1] || 0));
    // PT24H is a day, P7D a week: say them the way people do.
    if (v[4] && v[4] % 24 === 0 && !v[5] && !v[6]) { v[3] += v[4] / 24; v[4] = 0; }
    if (v[3] && v[3] % 7 === 0 && !v[2] && !v[4] && !v[5] && !v[6]) { v[2] = v[3] / 7; v[3] = 0; }
    const parts = names.map((n, i) => [v[i], n]).filter(([x]) => x);
    if (parts.length === 1 && parts[0][0] === 1) return { text: parts[0][1], unit: parts[0][1] };
    return { text: parts.map(([v, n]) => `${v} ${n}${v === 1 ? '' : 's'}`).join(' '), unit: '' };
  }
  // scheduleWords says a job's schedule in English: ISO 8601 repeating
  // intervals (Chronos) and the common cron forms; anything else is shown as is.
  function scheduleWords(s) {
    if (!s) return '';
    if (s.startsWith('R')) {
      const [r, start, period] = s.split('/');
      const d = isoDuration(period || '');
      if (!d) return s;
      const times = r.length > 1 ? `, ${r.slice(1)} time${r.slice(1) === '1' ? '' : 's'}` : '';
      const st = start ? new Date(start) : null;
      const at = st && !isNaN(st) ? (d.unit === 'day' ? ` at ${pad(st.getUTCHours())}:${pad(st.getUTCMinutes())} UTC`
        : d.unit === 'hour' ? ` at minute ${st.getUTCMinutes()}` : d.unit === 'week' ? ` on ${DAYS[st.getUTCDay()]} at ${pad(st.getUTCHours())}:${pad(st.getUTCMinutes())} UTC` : '') : '';
      const from = st && !isNaN(st) && st > new Date() ? `, from ${fmtTime(start)}` : '';
      if (r === 'R1') return `once, at ${fmtTime(start)}`;
      return `every ${d.text}${at}${from}${times}`;
    }
    const alias = { '@hourly': '0 * * * *', '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@weekly': '0 0 * * 0', '@monthly': '0 0 1 * *', '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *' };
    const f = (alias[s] || s).trim().split(/\s+/);
    if (f.length !== 5) return s;
    const [mi, h, dom, mon, dow] = f;
    const n = (x) => /^\d+$/.test(x);
    const step = /^\*\/(\d+)$/;
    const hm = n(mi) && n(h) ? `at ${pad(h)}:${pad(mi)}` : null;
    if (step.test(mi) && h === '*' && dom === '*' && mon === '*' && dow === '*') return `every ${step.exec(mi)[1]} minutes`;
    if (mi === '*' && h === '*' && dom === '*' && mon === '*' && dow === '*') return 'every minute';
    if (n(mi) && h === '*' && dom === '*' && mon === '*' && dow === '*') return `every hour at minute ${mi}`;
    if (n(mi) && step.test(h) && dom === '*' && mon === '*' && dow === '*') return `every ${step.exec(h)[1]} hours at minute ${mi}`;
    if (hm && dom === '*' && mon === '*' && dow === '*') return `every day ${hm}`;
    if (hm && dom === '*' && mon === '*' && /^[\d,-]+$/.test(dow)) {
      if (dow === '1-5') return `every weekday ${hm}`;
      const days = dow.split(',').map((d) => DAYS[Number(d) % 7]).filter(Boolean);
      if (days.length) return `every ${days.join(', ')} ${hm}`;
    }
    if (hm && n(dom) && mon === '*' && dow === '*') return `on day ${dom} of every month ${hm}`;
    return `cron ${s}`;
  }
  function jobTone(j) {
    if (j.disabled) return '';
    return { SUCCEEDED: 'ok', FAILED: 'bad', RUNNING: 'info', PENDING: 'info' }[j.lastState] || '';
  }
  // graph draws the parent/child DAG of jobs left to right: a job's column
  // is one past its deepest parent's.
  function graph(jobs, selected) {
    if (!jobs.length) return '<div class="empty">No jobs.</div>';
    const byName = new Map(jobs.map((j) => [j.name, j]));
    const depth = new Map();
    const depthOf = (n, seen = new Set()) => {
      if (depth.has(n)) return depth.get(n);
      if (seen.has(n)) return 0;
      seen.add(n);
      const j = byName.get(n);
      const ps = ((j && j.parents) || []).filter((p) => byName.has(p)); // parents drawn here
      const d = ps.length ? 1 + Math.max(...ps.map((p) => depthOf(p, seen))) : 0;
      depth.set(n, d);
      return d;
    };
    jobs.forEach((j) => depthOf(j.name));
    const cols = [];
    for (const j of jobs) (cols[depth.get(j.name)] ||= []).push(j);
    const W = 180;
    const H = 46;
    const GX = 70;
    const GY = 18;
    const pos = new Map();
    cols.forEach((col, c) => col.forEach((j, r) => pos.set(j.name, { x: 16 + c * (W + GX), y: 16 + r * (H + GY) })));
    const width = 32 + cols.length * (W + GX) - GX;
    const height = 32 + Math.max(...cols.map((c) => c.length)) * (H + GY) - GY;
    let edges = '';
    for (const j of jobs) {
      for (const p of j.parents || []) {
        const a = pos.get(p);
        const b = pos.get(j.name);
        if (!a || !b) continue;
        const x1 = a.x + W;
        const y1 = a.y + H / 2;
        const x2 = b.x - 6;
        const y2 = b.y + H / 2;
        edges += `<path class="edge" d="M${x1},${y1} C${x1 + 35},${y1} ${x2 - 35},${y2} ${x2},${y2}"/><path class="arrow" d="M${x2 + 6},${y2} l-7,-4 v8 z"/>`;
      }
    }
    const nodes = jobs.map((j) => {
      const { x, y } = pos.get(j.name);
      return `<a href="/ui/jobs/${esc(encodeURIComponent(j.name))}" class="node ${jobTone(j)}${j.name === selected ? ' sel' : ''}" data-job="${esc(j.name)}">
        <rect x="${x}" y="${y}" width="${W}" height="${H}" rx="6"/><text x="${x + 10}" y="${y + 19}">${esc(j.name.length > 22 ? `${j.name.slice(0, 21)}…` : j.name)}</text>
        <text class="s" x="${x + 10}" y="${y + 36}">${esc(j.disabled ? 'disabled' : (j.lastState || 'never ran').toLowerCase())}${j.parents && j.parents.length ? '' : ' · scheduled'}</text></a>`;
    }).join('');
    return `<div class="graph" role="img" aria-label="Job dependency graph: parents on the left, their dependents on the right"><svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${edges}${nodes}</svg></div>`;
  }
  function jobsPage(_, params) {
    setTitle('Jobs');
    let q = params.get('q') || '';
    let offset = 0;
    const limit = 50;
    main.innerHTML = `<h1>Jobs</h1><p class="sub">Scheduled and dependent jobs (Chronos), their next runs and last outcomes.</p>
      <form class="toolbar" role="search" id="jf"><label class="muted" for="j-q">Filter</label><input type="search" id="j-q" placeholder="job name contains…" value="${esc(q)}"></form>
      <div class="card flush"><div class="table-wrap" id="jobs"></div><div id="jobs-pager"></div></div>
      <div class="card flush section"><h2>Dependency graph <span class="muted">of the jobs listed</span></h2><div id="graph"></div></div>`;
    let typing;
    document.getElementById('jf').addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(() => { q = document.getElementById('j-q').value.trim(); offset = 0; refreshPage(true); }, 250);
    });
    document.getElementById('jf').addEventListener('submit', (ev) => ev.preventDefault());
    return {
      async refresh() {
        const { body: jobs, total } = await api(`/v1/jobs${qs({ q, next: 3, limit, offset })}`);
        document.getElementById('jobs-pager').replaceChildren(pager(total ?? jobs.length, offset, limit, (o) => { offset = o; refreshPage(true); }));
        document.getElementById('jobs').innerHTML = jobs.length ? `<table><thead><tr><th>Job</th><th>Schedule</th><th>Next runs</th><th>Last run</th><th class="num">Successes</th><th class="num">Errors</th></tr></thead><tbody>
          ${jobs.map((j) => `<tr><td>${jobLink(j.name)}${j.disabled ? ' <span class="badge">disabled</span>' : ''}</td>
            <td>${j.schedule ? `${esc(scheduleWords(j.schedule))}<div class="muted mono">${esc(j.schedule)}</div>` : `after ${(j.parents || []).map(jobLink).join(', ')}`}</td>
            <td>${(j.nextRuns || []).map((t) => `<div>${esc(fmtTime(t))}</div>`).join('') || (isZero(j.next) ? '—' : esc(fmtTime(j.next)))}</td>
            <td>${badge(j.lastState)} ${timeEl(j.lastState === 'FAILED' ? j.lastError : j.lastSuccess)}${j.message ? `<div class="muted">${esc(j.message)}</div>` : ''}</td>
            <td class="num">${j.successCount}</td><td class="num">${j.errorCount}</td></tr>`).join('')}</tbody></table>` : '<div class="empty">No jobs declared.</div>';
        document.getElementById('graph').innerHTML = jobs.length ? graph(jobs) : '<div class="empty">No jobs.</div>';
      },
    };
  }
  function jobPage([name]) {
    setTitle(name);
    let selected = '';
    main.innerHTML = `<div class="page-head"><div><p class="sub"><a href="/ui/jobs">Jobs</a> /</p><h1>${esc(name)}</h1><div id="job-sub"></div></div>
      <div><button class="btn primary" type="button" id="run-now">Run now</button><div id="run-msg" class="msg" role="status"></div></div></div>
      <div class="grid cols-2"><div class="card" id="job-info"></div><div class="card flush"><h2>Graph</h2><div id="graph"></div></div></div>
      <div class="card flush section"><h2>History</h2><div class="table-wrap" id="runs"></div></div>
      <div class="card section" id="run-out"><h2>Output</h2><p class="muted">Select a run to see the end of its output.</p></div>`;
    document.getElementById('run-now').addEventListener('click', async () => {
      if (await write(`/v1/jobs/${encodeURIComponent(name)}/run`, document.getElementById('run-msg'), 'Run requested: it starts at the next pass.')) refreshPage(true);
    });
    document.getElementById('runs').addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr[data-run]');
      if (!tr) return;
      ev.preventDefault();
      selected = tr.dataset.run;
      refreshPage(true);
      document.getElementById('run-out').scrollIntoView({ block: 'nearest' });
    });
    return {
      async refresh() {
        // The job with every job linked to it through parents: its graph.
        const [jobs, runs] = await Promise.all([get(`/v1/jobs${qs({ family: name, next: 5 })}`), get(`/v1/jobs/${encodeURIComponent(name)}/runs`)]);
        const j = jobs.find((x) => x.name === name);
        if (!j) {
          document.getElementById('job-info').innerHTML = `<p class="errors">No job ${esc(name)} in the commit the cluster follows.</p>`;
        } else {
          document.getElementById('job-sub').innerHTML = `${badge(j.lastState || 'never ran')}`;
          document.getElementById('job-info').innerHTML = `<h2>Schedule</h2><dl class="kv">
            <dt>When</dt><dd>${j.schedule ? esc(scheduleWords(j.schedule)) : `after ${(j.parents || []).map(jobLink).join(', ')} succeed`}</dd>
            ${j.schedule ? `<dt>Expression</dt><dd class="mono">${esc(j.schedule)}</dd>` : ''}
            <dt>Next runs</dt><dd>${(j.nextRuns || []).map((t) => `<div>${esc(fmtTime(t))} <span class="muted">(${esc(rel(t))})</span></div>`).join('') || '—'}</dd>
            <dt>Successes / errors</dt><dd>${j.successCount} / ${j.errorCount}</dd>
            <dt>Last success</dt><dd>${timeEl(j.lastSuccess)}</dd><dt>Last error</dt><dd>${timeEl(j.lastError)}</dd></dl>`;
        }
        document.getElementById('graph').innerHTML = graph(jobs, name);
        const durOf = (r) => (isZero(r.startedAt) ? '—' : dur(new Date(isZero(r.finishedAt) ? Date.now() : r.finishedAt) - new Date(r.startedAt)));
        document.getElementById('runs').innerHTML = runs.length ? `<table><thead><tr><th>Run</th><th>Trigger</th><th>State</th><th class="num">Attempt</th><th>Started</th><th class="num">Duration</th><th class="num">Exit</th><th>Agent</th></tr></thead><tbody>
          ${runs.map((r) => `<tr data-run="${esc(r.runId)}" ${r.runId === selected ? 'aria-selected="true"' : ''}><td class="mono"><a href="#run-out">${esc(r.runId)}</a></td><td>${esc(r.trigger)}</td><td>${badge(r.state)}</td><td class="num">${r.attempt}</td>
            <td>${esc(fmtTime(r.startedAt))}</td><td class="num">${durOf(r)}</td><td class="num">${r.exitCode ?? '—'}</td><td>${esc(r.agentId || '—')}</td></tr>`).join('')}</tbody></table>`
          : '<div class="empty">This job has not run yet.</div>';
        const sel = runs.find((r) => r.runId === selected);
        if (sel) {
          document.getElementById('run-out').innerHTML = `<h2>Output of <span class="mono">${esc(sel.runId)}</span></h2>${sel.outputTail ? `<pre class="log">${esc(sel.outputTail)}</pre>` : '<p class="muted">No output recorded.</p>'}${sel.message ? `<p>${esc(sel.message)}</p>` : ''}`;
        }
      },
    };
  }

  // ---------- Queues ----------
  function queuesPage() {
    setTitle('Queues');
    main.innerHTML = `<h1>Queues</h1><p class="sub">Capacity shares of the reachable agents: what each queue is guaranteed, may grow to, and uses now. The tick on each bar is the guarantee.</p>
      <div class="card flush"><div class="table-wrap" id="queues"></div></div>`;
    return {
      async refresh() {
        const qs_ = await get('/v1/queues');
        const cell = (q, k, fmt) => {
          const max = q.max[k] || 0;
          const g = max > 0 ? Math.min(100, (q.guaranteed[k] / max) * 100) : 0;
          return `<td><div class="bar" role="meter" aria-label="${esc(q.id)} ${k} used of maximum" aria-valuemin="0" aria-valuemax="${max}" aria-valuenow="${q.used[k]}"><span data-w="${max > 0 ? Math.min(100, (q.used[k] / max) * 100).toFixed(1) : 0}"></span><i data-l="${g.toFixed(1)}"></i></div>
            <div class="muted">${fmt(q.used[k])} used · ${fmt(q.guaranteed[k])} guaranteed · ${fmt(max)} max</div></td>`;
        };
        const el = document.getElementById('queues');
        el.innerHTML = qs_.length ? `<table><thead><tr><th>Queue</th><th class="num">Guarantee</th><th class="num">Maximum</th><th class="num">Tasks</th><th>CPU</th><th>Memory</th></tr></thead><tbody>
          ${qs_.map((q) => `<tr><td>${esc(q.id)}</td><td class="num">${num(q.capacity)}%</td><td class="num">${num(q.maxCapacity)}%</td><td class="num">${q.tasks}</td>${cell(q, 'cpus', (v) => num(v))}${cell(q, 'mem', mib)}</tr>`).join('')}</tbody></table>`
          : '<div class="empty">No queues declared: every app and job shares the whole cluster.</div>';
        applyWidths(el);
      },
    };
  }

  // ---------- Diff ----------
  function diffPage(_, params) {
    setTitle('Diff');
    let ref = params.get('ref') || '';
    main.innerHTML = `<h1>Diff</h1><p class="sub">What applying a ref (branch, tag or commit) would change in the live cluster: <code>berth diff --server</code>.</p>
      <form class="toolbar" id="df"><label for="d-ref">Ref</label><input type="text" id="d-ref" placeholder="the followed branch" value="${esc(ref)}" spellcheck="false">
      <button class="btn primary" type="submit">Compare with the cluster</button></form><div id="diff"></div>`;
    document.getElementById('df').addEventListener('submit', (ev) => {
      ev.preventDefault();
      ref = document.getElementById('d-ref').value.trim();
      history.replaceState(null, '', `/ui/diff${qs({ ref })}`);
      refreshPage(true);
    });
    const val = (v) => (v === undefined ? '' : esc(JSON.stringify(v)));
    return {
      // A diff reads Git and plans the whole cluster: only on request.
      manual: true,
      async refresh() {
        const el = document.getElementById('diff');
        let p;
        try {
          p = await get(`/v1/diff${qs({ ref })}`);
        } catch (e) {
          if (e.status === 422) {
            el.innerHTML = `<div class="card"><h2><span class="dot bad"></span>${esc(ref || 'The branch')} does not validate</h2><ul class="errors">${(e.body.errors || []).map((x) => `<li>${esc(x)}</li>`).join('')}</ul></div>`;
            return;
          }
          if (e.status === 404 || e.status === 502) { el.innerHTML = `<div class="card"><p class="errors">${esc(e.message)}</p></div>`; return; }
          throw e;
        }
        const s = p.summary || {};
        const fit = p.fit;
        el.innerHTML = `<div class="card"><dl class="kv"><dt>Live</dt><dd>${esc(p.base?.ref || '')} <span class="mono">${esc(short(p.base?.commit))}</span></dd>
            <dt>Ref</dt><dd>${esc(p.head?.ref || '')} <span class="mono">${esc(short(p.head?.commit))}</span></dd>
            <dt>Summary</dt><dd id="diff-summary"><span class="a-create">${s.create || 0} to create</span>, <span class="a-update">${s.update || 0} to update</span> (${s.scale || 0} scale, ${s.restart || 0} restart, ${s.config || 0} config), <span class="a-delete">${s.delete || 0} to delete</span>, ${s.unchanged || 0} unchanged</dd>
            ${fit ? `<dt>Fits</dt><dd>${fit.fits ? badge('Healthy', 'fits') : badge('FAILED', 'does not fit')} needs ${num(fit.needed.cpus)} CPU, ${mib(fit.needed.mem)}; free ${num(fit.free.cpus)} CPU, ${mib(fit.free.mem)}
              ${(fit.unplaced || []).map((u) => `<div class="errors">${esc(u.kind)} ${esc(u.id)} #${esc(u.instance)}: ${esc(u.reason)}</div>`).join('')}</dd>` : ''}</dl></div>
          <div class="card flush section"><h2>Changes</h2>${(p.changes || []).map((c) => `<div class="diff-change"><div class="hd">
              <span class="badge">step ${c.step}</span><b class="a-${esc(c.action)}">${esc(c.action)}${c.update ? ` (${esc(c.update)})` : ''}</b> ${esc(c.kind)} <b>${esc(c.id)}</b>
              ${c.origin ? `<span class="muted mono">${esc(c.origin.file)}:${esc(c.origin.line)}</span>` : ''}
              ${c.instances ? `<span>instances ${c.instances.from} → ${c.instances.to}</span>` : ''}${c.running != null ? `<span class="muted">${c.running} running</span>` : ''}</div>
              <table class="diff-fields"><tbody>${(c.fields || []).map((f) => `<tr><td>${esc(f.path)}</td><td class="from">${val(f.from)}</td><td>→</td><td class="to">${val(f.to)}</td></tr>`).join('')}</tbody></table></div>`).join('') || '<div class="empty">No change: the cluster already runs this.</div>'}</div>`;
      },
    };
  }

  // ---------- Templates ----------
  function templatesPage() {
    setTitle('Templates');
    main.innerHTML = `<h1>Templates</h1><p class="sub">consul-template files the leader publishes; agents render those their node's constraints select.</p>
      <div class="banner note section" role="note" id="renders-note" hidden></div>
      <div class="card flush section"><div class="table-wrap" id="templates"></div></div>`;
    return {
      async refresh() {
        const [ts, renders] = await Promise.all([get('/v1/templates'), get('/v1/renders')]);
        const note = document.getElementById('renders-note');
        note.hidden = renders.length > 0;
        note.textContent = 'No agent reports rendering a template yet: agents render templates only with --templates (berth up always does), and report within a few seconds.';
        const by = new Map();
        for (const r of renders || []) (by.get(r.template) || by.set(r.template, []).get(r.template)).push(r);
        const result = (r) => (r.refused && !r.rendered && !r.lastRender ? badge('FAILED', 'refused') + `<div class="errors">${esc(r.refused)}</div>`
          : r.error ? badge('FAILED', 'failed') + `<div class="errors">${esc(r.error)}</div>`
          : r.sourceError ? badge('SKIPPED', 'source failing') + `<div class="errors">${esc(r.sourceError)}</div>`
            : r.rendered ? badge('SUCCEEDED', 'rendered') : badge('PENDING', (r.waiting || []).length ? `waiting for ${r.waiting.join(', ')}` : 'pending'));
        document.getElementById('templates').innerHTML = ts.length ? `<table><thead><tr><th>Template</th><th>Source</th><th>Where</th><th>Validate, then</th>
            ${renders ? '<th>Last render</th><th>Result</th>' : ''}<th>Declared in</th></tr></thead><tbody>
          ${ts.map((t) => {
            const rs = by.get(t.id) || [];
            return `<tr data-template="${esc(t.id)}"><td>${esc(t.id)}</td><td class="mono">${esc(t.source || 'inline contents')}</td>
            <td>${rs.length ? rs.map((r) => `<div><b>${esc(r.agent)}</b>: <span class="mono">${esc(r.destination)}</span></div>`).join('')
              : `<span class="mono">${esc(t.destination)}</span><div class="muted">${(t.constraints || []).length ? `on agents matching ${t.constraints.map((c) => `<span class="tag">${esc(Array.isArray(c) ? c.join(' ') : [c.field, c.operator, c.value].filter(Boolean).join(' '))}</span>`).join(' ')}` : 'on every agent'}</div>`}</td>
            <td class="mono">${esc(t.validate || '—')}<div>${esc(t.command || '')}</div></td>
            ${renders ? `<td>${rs.map((r) => `<div>${timeEl(r.lastRender)}${r.writes ? ` <span class="muted">(${r.writes} write${r.writes === 1 ? '' : 's'}, last ${timeEl(r.lastWrite)})</span>` : ''}</div>`).join('') || '—'}</td>
              <td>${rs.map(result).join('') || '<span class="muted">not rendered here</span>'}</td>` : ''}
            <td class="mono">${esc(t.origin?.file || '')}${t.origin?.line ? `:${t.origin.line}` : ''}</td></tr>`;
          }).join('')}</tbody></table>`
          : '<div class="empty">No templates declared.</div>';
      },
    };
  }

  // ---------- start ----------
  setToken(token());
  route();
  stream();
})();
