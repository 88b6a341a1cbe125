// The annotation page's entry point: tabs, the server's info line (and its
// warning when it serves the random-weight test model), and the one place
// errors are shown — the server's {"error": {code, message}} as it sent it.

import {getInfo} from "./api.js";
import {setupImage} from "./image.js";
import {setupVideo} from "./video.js";

const errorBox = document.querySelector("#error");
const statusLine = document.querySelector("#status");

function showError(error) {
  if (!error) {
    errorBox.hidden = true;
    errorBox.textContent = "";
    return;
  }
  errorBox.textContent = error.message;
  errorBox.dataset.code = error.code || "";
  errorBox.hidden = false;
}

function setStatus(text) {
  statusLine.textContent = text;
}

for (const tab of document.querySelectorAll("nav button")) {
  tab.addEventListener("click", () => {
    for (const t of document.querySelectorAll("nav button")) t.classList.toggle("selected", t === tab);
    for (const panel of document.querySelectorAll("main > section")) {
      panel.hidden = panel.id !== tab.dataset.panel;
    }
    showError(null);
  });
}

setupImage(document.querySelector("#image-panel"), showError, setStatus);
setupVideo(document.querySelector("#video-panel"), showError, setStatus);

getInfo().then((info) => {
  document.querySelector("#server").textContent =
    `${info.modelVariant || "model"} · instance ${info.instanceId} · v${info.version}`;
  if (info.meaninglessMasks) {
    const warning = document.querySelector("#warning");
    warning.textContent = info.warning;
    warning.hidden = false;
  }
  document.body.dataset.ready = "true";
}).catch((e) => {
  showError(e);
  document.body.dataset.ready = "true";
});
