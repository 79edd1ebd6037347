import { api, setToken, isTechnicianOnly, token } from "./api.js";

const form = document.getElementById("login-form");
const message = document.getElementById("login-error");

async function landing() {
  const user = await api("/api/auth/me");
  location.replace(isTechnicianOnly(user) ? "/tech" : "/");
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
    await landing();
  } catch (error) {
    message.textContent = error.status === 401 ? "Wrong username or password."
      : error.message || "Cannot reach the server.";
    button.disabled = false;
  }
});

if (token()) landing().catch(() => setToken(null));
