/* The door page: scan members' ticket QR codes with the phone's rear camera and check them in
   without leaving the page. Loaded after vendor/jsQR.js. Without this script (or without a
   camera) the page's form still posts a typed code the ordinary way. */
(function () {
  "use strict";

  const SCAN_EVERY_MS = 160; // about six frames a second
  const SAME_CODE_QUIET_MS = 3000; // a ticket held in front of the camera is posted once
  const SCAN_WIDTH = 640; // frames are scaled down to this before decoding
  const TOKEN = /^[A-Za-z0-9_-]{20,64}$/; // secrets.token_urlsafe(24) is 32 of these
  const SHORT_CODE = /^[A-Za-z0-9]{4,8}$/;
  const CLASSES = { checked_in: "door-ok", already: "door-already", refused: "door-refused" };
  // The page's words, in the reader's language (data-* on the scanner's section); Chinese
  // if absent.
  const WORDS = (document.querySelector("[data-no-answer]") || {}).dataset || {};
  const NO_ANSWER =
    WORDS.noAnswer || "没有得到核销结果：页面可能已过期或需要重新登录，请刷新页面后再试。";
  const OFFLINE = WORDS.offline || "没有连上服务器，请检查网络后再扫一次，或输入短码。";
  const NOT_A_TICKET = WORDS.notATicket || "这不是活动入场券的二维码。";

  /* The ticket in a decoded QR text: the last path segment after /t/ of a URL, or the text
     itself when it looks like a token or a short code; null for anything else. The host is
     not checked: the server decides whether the ticket is one of its own. */
  function ticketFrom(text) {
    const raw = String(text).trim();
    if (TOKEN.test(raw) || SHORT_CODE.test(raw)) {
      return raw;
    }
    let url;
    try {
      url = new URL(raw);
    } catch (error) {
      return null;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return null;
    }
    const found = /\/t\/([^/]+)\/?$/.exec(url.pathname);
    return found && (TOKEN.test(found[1]) || SHORT_CODE.test(found[1])) ? found[1] : null;
  }

  window.qunbookDoor = { ticketFrom: ticketFrom };

  const form = document.getElementById("door-form");
  const result = document.getElementById("door-result");
  const count = document.getElementById("door-count");
  if (!form || !form.elements.ticket || !window.fetch || !window.FormData) {
    return;
  }
  let posting = false;

  function show(answer, fallback) {
    const status = answer && Object.prototype.hasOwnProperty.call(CLASSES, answer.status)
      ? answer.status
      : "refused";
    if (result) {
      result.classList.remove(...Object.values(CLASSES));
      result.classList.add(CLASSES[status]);
      result.textContent = (answer && answer.message) || fallback || NO_ANSWER;
    }
    if (count && answer && typeof answer.count === "number") {
      count.textContent = answer.capacity == null
        ? String(answer.count)
        : answer.count + " / " + answer.capacity;
    }
    return status;
  }

  /* Posts the form and shows the JSON answer in place; resolves when it is shown. */
  async function post() {
    posting = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const type = response.headers.get("Content-Type") || "";
      const json = type.includes("application/json");
      const answer = json ? await response.json().catch(() => null) : null;
      const status = show(answer, NO_ANSWER);
      if (status !== "refused") {
        form.elements.ticket.value = "";
      }
    } catch (error) {
      show(null, OFFLINE);
    } finally {
      posting = false;
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!posting && form.elements.ticket.value.trim()) {
      post();
    }
  });

  const video = document.getElementById("door-camera");
  const note = document.getElementById("door-camera-note");
  if (!video) {
    return;
  }

  function cameraUnavailable() {
    video.hidden = true;
    if (note) {
      note.hidden = false;
    }
  }

  const media = window.isSecureContext && navigator.mediaDevices;
  if (!media || typeof media.getUserMedia !== "function" || typeof window.jsQR !== "function") {
    cameraUnavailable();
    return;
  }

  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  let lastText = null;
  let lastSeen = 0;

  function decode() {
    const scale = Math.min(1, SCAN_WIDTH / video.videoWidth);
    const width = Math.round(video.videoWidth * scale);
    const height = Math.round(video.videoHeight * scale);
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width; // resizing clears the canvas, so only when the camera's size changes
      canvas.height = height;
    }
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    const code = window.jsQR(image.data, image.width, image.height, {
      inversionAttempts: "dontInvert",
    });
    return code && code.data;
  }

  function scan() {
    const ready = video.readyState >= video.HAVE_CURRENT_DATA && video.videoWidth > 0;
    if (posting) {
      lastSeen = Date.now(); // a slow answer does not end the quiet time of the code it is for
    } else if (ready && !document.hidden) {
      const text = decode();
      const now = Date.now();
      if (text && (text !== lastText || now - lastSeen >= SAME_CODE_QUIET_MS)) {
        const ticket = ticketFrom(text);
        if (ticket) {
          form.elements.ticket.value = ticket;
          post();
        } else {
          show({ status: "refused", message: NOT_A_TICKET });
        }
      }
      if (text) {
        // Seen again: the quiet time starts over, so a code left in view is posted once.
        lastText = text;
        lastSeen = now;
      }
    }
    window.setTimeout(scan, SCAN_EVERY_MS);
  }

  let stream = null;

  function stop() {
    if (stream) {
      stream.getTracks().forEach((track) => track.stop());
      stream = null;
    }
  }

  async function start() {
    try {
      stream = await media.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      video.srcObject = stream;
      await video.play();
    } catch (error) {
      // NotAllowedError (refused), NotFoundError (no camera), NotReadableError (in use)...
      stop();
      cameraUnavailable();
      return false;
    }
    video.hidden = false;
    return true;
  }

  // The camera is released when the page goes away, and taken again if it comes back.
  window.addEventListener("pagehide", stop);
  window.addEventListener("pageshow", (event) => event.persisted && start());
  start().then((started) => started && scan());
})();
