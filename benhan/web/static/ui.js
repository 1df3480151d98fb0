/* benhan clinician pages: a little help where a script helps, nothing that a page needs to work.
   - ICD-10 type-ahead: fills the diagnosis list as one types, ranked as the Find button ranks
     (/ui/icd10); nothing is chosen for the clinician — a code is saved only when clicked or
     selected; when ICD-10 is not loaded it shows the server's message (without a script: Find);
   - service filter: typing in the order form's search box narrows the list of services to those
     whose name (accents ignored) or code holds every word (without: Find asks the server);
   - commune picker: loads the communes of the chosen province (without: the Update button);
   - drafts: what is typed in a form marked data-draft is kept in this browser until the server
     says it is saved, so a session that expires mid-note loses nothing (restored after login). */
(function () {
  "use strict";
  function getJSON(url, done) {
    var x = new XMLHttpRequest();
    x.open("GET", url);
    x.setRequestHeader("Accept", "application/json");
    x.onload = function () {
      if (x.status === 200 || x.status === 503) { try { done(JSON.parse(x.responseText)); } catch (e) { /* ignore */ } }
    };
    x.send();
  }

  function typeahead(input) {
    var select = document.getElementById("f-dx_code"), timer = null, asked = "";
    var problem = document.createElement("span");
    problem.className = "field-error"; problem.setAttribute("role", "alert"); problem.hidden = true;
    select.parentNode.appendChild(problem);
    function fill(items) {
      select.innerHTML = "";
      items.forEach(function (c) {   // none selected: the clinician chooses
        var o = document.createElement("option");
        o.value = c.code; o.textContent = c.code + " — " + (c.display || "");
        select.appendChild(o);
      });
      select.selectedIndex = -1;
    }
    function ask(text) {
      getJSON("/ui/icd10?q=" + encodeURIComponent(text), function (answer) {
        if (text !== asked) { return; }
        problem.textContent = answer.error || ""; problem.hidden = !answer.error;
        fill(answer.contains || []);
      });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var text = input.value.trim();
      if (text.length < 2) { return; }
      timer = setTimeout(function () { asked = text; ask(text); }, 200);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" && select.options.length) { e.preventDefault(); select.focus(); }
    });
  }

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase();
  }

  function filter(input) {
    var select = document.getElementById(input.getAttribute("data-filter"));
    if (!select) { return; }
    input.addEventListener("input", function () {
      var words = fold(input.value).split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(select.options, function (o) {
        var text = fold(o.textContent);
        o.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
        if (o.hidden && o.selected) { o.selected = false; }   // never order what is no longer shown
      });
    });
  }

  function communes() {
    var province = document.getElementById("f-province"), commune = document.getElementById("f-commune");
    if (!province || !commune) { return; }
    Array.prototype.forEach.call(document.querySelectorAll(".nojs"), function (b) { b.hidden = true; });
    province.addEventListener("change", function () {
      getJSON("/ui/communes?province=" + encodeURIComponent(province.value), function (list) {
        var first = commune.options[0];
        commune.innerHTML = ""; commune.appendChild(first);
        list.forEach(function (c) {
          var o = document.createElement("option"); o.value = c[0]; o.textContent = c[1]; commune.appendChild(o);
        });
      });
    });
  }

  var PREFIX = "benhan-draft:";
  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && (el.type === "text" || el.type === "tel"))) && el.name;
    });
  }
  function drafts() {
    var saved = document.getElementById("draft-saved");
    if (saved) { try { localStorage.removeItem(PREFIX + saved.getAttribute("data-key")); } catch (e) { /* ignore */ } }
    Array.prototype.forEach.call(document.querySelectorAll("form[data-draft]"), function (form) {
      var key = PREFIX + form.getAttribute("data-draft"), stored = null;
      try { stored = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { stored = null; }
      if (stored && stored.values) {
        var restored = false;
        fields(form).forEach(function (el) {
          var value = stored.values[el.name];
          if (value && value !== el.value && (!el.value || el.tagName === "TEXTAREA" && value.indexOf(el.value) === 0)) {
            el.value = value; restored = true;
          }
        });
        if (restored) {
          var note = document.createElement("p");
          note.className = "notice draft-restored"; note.setAttribute("role", "status");
          note.textContent = document.documentElement.lang === "en" ? "An unsaved draft was restored." : "Đã khôi phục bản nháp chưa lưu.";
          form.insertBefore(note, form.firstChild);
        }
      }
      form.addEventListener("input", function () {
        var values = {};
        fields(form).forEach(function (el) { if (el.value) { values[el.name] = el.value; } });
        try { localStorage.setItem(key, JSON.stringify({ at: Date.now(), values: values })); } catch (e) { /* full or private mode */ }
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("form[action='/logout'], form[action='/logout/everywhere']"), function (f) {
      f.addEventListener("submit", function () {
        // A deliberate logout on a shared PC: leave no patient text behind.
        try {
          Object.keys(localStorage).forEach(function (k) { if (k.indexOf(PREFIX) === 0) { localStorage.removeItem(k); } });
        } catch (e) { /* ignore */ }
      });
    });
  }

  var ta = document.querySelector("input[data-typeahead='icd10']");
  if (ta) { typeahead(ta); }
  Array.prototype.forEach.call(document.querySelectorAll("input[data-filter]"), filter);
  communes();
  drafts();
}());
