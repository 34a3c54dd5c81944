// Building pages from elements, never from HTML strings: text from the API is always
// text (nothing it holds can become markup), and nothing needs an inline style or
// script (the Content-Security-Policy forbids both).

const SVG = 'http://www.w3.org/2000/svg';

function build(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

/** An HTML element: h('a', { href: '/x', class: 'y' }, 'text', child, [more]). */
export function h(tag, attributes, ...children) {
  return build(document.createElement(tag), attributes, children);
}

/** An SVG element, the same way. */
export function svg(tag, attributes, ...children) {
  return build(document.createElementNS(SVG, tag), attributes, children);
}

export function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

/** A label and its control, joined by for/id (every input has a real label). */
export function field(labelText, control, hint) {
  const hintElement = hint ? h('span', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintElement) control.setAttribute('aria-describedby', hintElement.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, labelText), control, hintElement);
}

/** A <select> with [value, text] options. */
export function select(attributes, options, selected) {
  return h(
    'select',
    attributes,
    options.map(([value, text]) => h('option', { value, selected: String(value) === String(selected ?? '') }, text)),
  );
}

/** A box that tells the user something went wrong (announced by screen readers). */
export function alertBox(text) {
  return h('div', { class: 'alert', role: 'alert' }, text);
}

/** Shows or hides an element by the `hidden` attribute (no inline style). */
export function show(element, visible) {
  element.hidden = !visible;
}
