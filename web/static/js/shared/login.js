import { api, escapeHtml, keptSession, setToken, tabToken } from "./api.js";
import { landing, loadMe } from "./me.js";

const form = document.getElementById("login-form");
const message = document.getElementById("login-error");

// Each user lands on the first screen that is theirs (me.js: from what they may do).
async function land() {
  await loadMe();
  const to = landing();
  if (!to) throw new Error("This account may not use any screen yet; ask an administrator.");
  location.replace(to);
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  message.textContent = "";
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const data = await api("/api/auth/login", {
      method: "POST", auth: false,
      body: { username: form.username.value.trim(), password: form.password.value },
    });
    setToken(data.access_token, { expiresIn: data.expires_in });
    await land();
  } catch (error) {
    message.textContent = error.status === 401 ? "Wrong username or password."
      : error.message || "Cannot reach the server.";
    button.disabled = false;
  }
});

// This tab is signed in: on to its screen; kept when only the network failed (fetch's TypeError).
if (tabToken()) land().catch((error) => { if (!(error instanceof TypeError)) setToken(null); });
// A technician's session kept on this device: their jobs open from here, even without network;
// signing in below as someone else ends it.
else if (keptSession()) {
  const note = document.createElement("p");
  note.className = "kept-session";
  note.innerHTML = `<strong>${escapeHtml(keptSession().name)}</strong> is signed in on this device.
    <a href="/tech">Open my jobs</a>`;
  form.before(note);
}
