// Presentation mode's clicker: the keys a presentation remote sends always turn the page.
//
// A remote sends Page Down / Page Up (some send the arrow keys, and "." or "b" to blank the
// screen). Listening on the window in the capture phase, this sees them before any slider,
// switch or button that has focus, and stops them there: a speaker who touched a control
// keeps turning pages instead of editing the demo. The turn goes to the server as a
// trigger, which moves the step.

const TURNS = { PageDown: "next", PageUp: "previous" };
const ARROWS = { ArrowRight: "next", ArrowDown: "next", ArrowLeft: "previous", ArrowUp: "previous" };
const BLANK_KEYS = new Set([".", "b", "B"]);
// Controls that need the arrow keys (and typing) for themselves.
const OWN_KEYS =
  'input:not([type="checkbox"]):not([type="button"]), textarea, select, [contenteditable=""], [contenteditable="true"], [role="slider"], ' +
  '[role="radio"], [role="radiogroup"], [role="listbox"], [role="option"], [role="combobox"], ' +
  '[role="grid"], [role="gridcell"], [role="application"], [role="tab"], [role="menu"], [role="menuitem"]';

// The element with focus, looking inside shadow roots (the page's own maps live in one).
function focused() {
  let node = document.activeElement;
  while (node && node.shadowRoot && node.shadowRoot.activeElement) {
    node = node.shadowRoot.activeElement;
  }
  return node;
}

function typingIn(node) {
  return !!node && node.closest && !!node.closest(OWN_KEYS);
}

function toggleBlank() {
  let cover = document.getElementById("presentation-blank");
  if (cover) {
    cover.remove();
    return;
  }
  cover = document.createElement("div");
  cover.id = "presentation-blank";
  cover.setAttribute("role", "presentation");
  cover.style.cssText = "position:fixed;inset:0;background:#000;z-index:2147483647;cursor:none";
  document.body.appendChild(cover);
}

// One listener for the page, however often the step bar is drawn; it sends with the
// latest mount's trigger.
let send = null;

function onKey(event) {
  if (!send || event.altKey || event.ctrlKey || event.metaKey) return;
  const node = focused();
  let turn = TURNS[event.key];
  if (!turn && !typingIn(node)) turn = ARROWS[event.key];
  if (turn) {
    event.preventDefault();
    event.stopPropagation();
    if (!event.repeat) send("turn", turn);
    return;
  }
  if (BLANK_KEYS.has(event.key) && !typingIn(node)) {
    event.preventDefault();
    event.stopPropagation();
    toggleBlank();
  }
}

export default function (component) {
  if (!send) window.addEventListener("keydown", onKey, true);
  send = component.setTriggerValue;
  return () => {
    window.removeEventListener("keydown", onKey, true);
    send = null;
    document.getElementById("presentation-blank")?.remove();
  };
}
