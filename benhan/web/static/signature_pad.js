/* The patient's signature drawn on the screen (documents/confirmation.py): pointer events, so a finger
   on a tablet, a stylus and a mouse draw alike. The drawing goes to the server as a PNG (the canvas's
   data URL) when the form is sent; an untouched pad sends nothing and the server says so. Styles are
   set here, not in the markup, because the pages' CSP allows no inline style. */
(function () {
  "use strict";
  var canvas = document.getElementById("signature-pad");
  if (!canvas) { return; }
  var field = document.getElementById("f-signature");
  var ctx = canvas.getContext("2d");
  var drawing = false, drawn = false, last = null;
  canvas.style.touchAction = "none";          // the finger draws; it does not scroll the page
  canvas.style.border = "1px solid #555";
  canvas.style.background = "#fff";
  canvas.style.width = "100%";
  canvas.style.maxWidth = canvas.width + "px";
  canvas.style.cursor = "crosshair";
  ctx.lineWidth = 3; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#000";

  function at(e) {                            // the pointer in canvas pixels, whatever the CSS size
    var box = canvas.getBoundingClientRect();
    return {x: (e.clientX - box.left) * canvas.width / box.width,
            y: (e.clientY - box.top) * canvas.height / box.height};
  }
  canvas.addEventListener("pointerdown", function (e) {
    e.preventDefault();
    drawing = true; last = at(e);
    if (canvas.setPointerCapture) { canvas.setPointerCapture(e.pointerId); }
    ctx.beginPath(); ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, 2 * Math.PI); ctx.fillStyle = "#000"; ctx.fill();
  });
  canvas.addEventListener("pointermove", function (e) {
    if (!drawing) { return; }
    e.preventDefault();
    var p = at(e);
    ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(p.x, p.y); ctx.stroke();
    last = p; drawn = true;
  });
  function stop() { drawing = false; }
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  canvas.addEventListener("pointerleave", stop);
  document.getElementById("pad-clear").addEventListener("click", function () {
    ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false; field.value = "";
  });
  document.getElementById("pad-form").addEventListener("submit", function () {
    field.value = drawn ? canvas.toDataURL("image/png") : "";
  });
}());
