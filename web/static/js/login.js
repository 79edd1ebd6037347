import { api, setToken, token } from "./api.js";
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
    setToken(data.access_token);
    await land();
  } catch (error) {
    message.textContent = error.status === 401 ? "Wrong username or password."
      : error.message || "Cannot reach the server.";
    button.disabled = false;
  }
});

if (token()) land().catch(() => setToken(null));
