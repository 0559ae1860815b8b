// A minimal DOM for running the dashboard page's script in a VM (no browser on this machine).
// Only what the page uses: elements by id, createElement, children, text, values, events.

/** One element (or text node) of the fake DOM. */
export class FakeElement {
  readonly tagName: string;
  value = '';
  className = '';
  disabled = false;
  checked = false;
  children: FakeElement[] = [];
  parent: FakeElement | undefined;
  readonly attributes = new Map<string, string>();
  #text = '';
  readonly #listeners = new Map<string, Array<(event: unknown) => void>>();

  constructor(tagName: string) {
    this.tagName = tagName;
  }

  get textContent(): string {
    return this.#text;
  }

  set textContent(text: string) {
    this.#text = text;
    this.children = [];
  }

  get lastChild(): FakeElement | undefined {
    return this.children.at(-1);
  }

  setAttribute(name: string, value: string): void {
    this.attributes.set(name, value);
  }

  addEventListener(type: string, fn: (event: unknown) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), fn]);
  }

  /** Fires an event the way a browser would for a user action. */
  dispatch(type: string): void {
    for (const fn of this.#listeners.get(type) ?? []) fn({ type, preventDefault() {} });
  }

  append(...nodes: Array<FakeElement | string>): void {
    for (const node of nodes) this.children.push(this.#adopt(node));
  }

  prepend(...nodes: Array<FakeElement | string>): void {
    this.children.unshift(...nodes.map((n) => this.#adopt(n)));
  }

  replaceChildren(...nodes: Array<FakeElement | string>): void {
    this.children = [];
    this.append(...nodes);
  }

  remove(): void {
    if (this.parent !== undefined) this.parent.children = this.parent.children.filter((c) => c !== this);
  }

  #adopt(node: FakeElement | string): FakeElement {
    const element = typeof node === 'string' ? Object.assign(new FakeElement('#text'), { textContent: node }) : node;
    element.parent = this;
    return element;
  }
}

/** All text under an element, children joined by spaces. */
export function textOf(element: FakeElement): string {
  return [element.textContent, ...element.children.map(textOf)].filter((t) => t !== '').join(' ');
}

/** `document` for the page: every id of the HTML exists; the bootstrap script holds its JSON. */
export class FakeDocument {
  readonly #byId = new Map<string, FakeElement>();

  constructor(html: string) {
    for (const match of html.matchAll(/<(\w+)[^>]*\sid="([^"]+)"[^>]*>/g)) {
      const element = new FakeElement(match[1] ?? 'div');
      this.#byId.set(match[2] ?? '', element);
    }
    const bootstrap = /<script id="tidings-bootstrap" type="application\/json">([^<]*)<\/script>/.exec(html)?.[1];
    this.byId('tidings-bootstrap').textContent = bootstrap ?? '{}';
  }

  getElementById(id: string): FakeElement | null {
    return this.#byId.get(id) ?? null;
  }

  /** Like getElementById, for tests: throws when the page has no such element. */
  byId(id: string): FakeElement {
    const element = this.#byId.get(id);
    if (element === undefined) throw new Error(`the page has no element #${id}`);
    return element;
  }

  createElement(tag: string): FakeElement {
    return new FakeElement(tag);
  }
}
