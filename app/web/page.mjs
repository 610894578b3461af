// The page's keyboard access where Streamlit's own elements leave a gap: a region that
// scrolls (a long formula, a fixed-height code block, a chart inside its frame on a phone)
// can be reached with Tab and scrolled with the arrow keys. Only regions that really
// scroll become tab stops, looked at again after each change of the page.

const SCROLLERS = '.katex-display, [data-testid="stCode"] pre, [data-testid="stVegaLiteChart"]';

function scrolls(node) {
  const style = getComputedStyle(node);
  const sideways = /auto|scroll/.test(style.overflowX) && node.scrollWidth > node.clientWidth + 1;
  const down = /auto|scroll/.test(style.overflowY) && node.scrollHeight > node.clientHeight + 1;
  return sideways || down;
}

function mark() {
  for (const node of document.querySelectorAll(SCROLLERS)) {
    if (scrolls(node)) {
      if (!node.hasAttribute("tabindex")) {
        node.setAttribute("tabindex", "0");
        node.setAttribute("role", "region");
        node.setAttribute("aria-label", "Scrolls: use the arrow keys");
        node.dataset.scrollFocus = "";
      }
    } else if ("scrollFocus" in node.dataset) {
      for (const a of ["tabindex", "role", "aria-label", "data-scroll-focus"]) node.removeAttribute(a);
    }
  }
}

let pending = false;
function soon() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    mark();
  });
}

let observer = null;

export default function () {
  if (!observer) {
    observer = new MutationObserver(soon);
    observer.observe(document.body, { childList: true, subtree: true });
    window.addEventListener("resize", soon);
  }
  soon();
  return () => {
    observer?.disconnect();
    observer = null;
    window.removeEventListener("resize", soon);
  };
}
