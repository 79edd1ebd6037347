// What every screen shares: the user (sent to their own screen when this one is not for them),
// and the top bar's links to the screens they may open, who is signed in, and sign out.
import { escapeHtml, logout } from "./api.js";
import { AREAS, areas, landing, requireLogin } from "./me.js";

// The signed-in user on the screen at `path`; elsewhere when they may not use it.
export async function openScreen(path) {
  const user = await requireLogin();
  const area = AREAS.find((a) => a.path === path);
  if (area && !area.may()) {
    const to = landing();
    if (!to) throw new Error("this account may not use any screen yet; ask an administrator");
    location.replace(to);
    return new Promise(() => {});
  }
  renderTopbar(user, path);
  return user;
}

export function renderTopbar(user, here) {
  const nav = document.getElementById("areas");
  const list = areas();
  if (nav) {
    nav.innerHTML = list.length > 1 ? list.map((a) => `<a href="${a.path}"${a.path === here
      ? ' aria-current="page"' : ""}>${escapeHtml(a.label)}</a>`).join("") : "";
  }
  const who = document.getElementById("who");
  if (who) {
    who.textContent = user.display_name;
    who.title = user.username;
  }
  const out = document.getElementById("logout");
  if (out) out.onclick = () => logout();
}
