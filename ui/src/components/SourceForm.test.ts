import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import { BackendError } from "../api/backend";
import { MockBackend } from "../api/mock";
import { SourcesStore } from "../stores/sources.svelte";
import SourceForm from "./SourceForm.svelte";

const NOW = Date.UTC(2026, 10, 28, 12, 0);

/** `prepare` changes the mock's sources before the form opens. */
async function setup(sourceId: number | null, prepare: (mock: MockBackend) => void = () => {}) {
  const mock = new MockBackend({ count: 30, now: () => NOW });
  prepare(mock);
  const sources = new SourcesStore(mock);
  await sources.load();
  const onsaved = vi.fn();
  const onclose = vi.fn();
  render(SourceForm, { backend: mock, sources, sourceId, onsaved, onclose });
  await screen.findByTestId("source-field-name");
  return { mock, onsaved, onclose };
}

const byTestId = <T extends HTMLElement = HTMLInputElement>(id: string) => screen.getByTestId(id) as T;
const field = (name: string) => byTestId(`source-field-${name}`);
const type = (name: string, value: string) => fireEvent.input(field(name), { target: { value } });
const choose = (name: string, value: string) => fireEvent.change(byTestId<HTMLSelectElement>(`source-field-${name}`), { target: { value } });
const save = () => fireEvent.click(byTestId("source-save"));

describe("SourceForm: adding", () => {
  it("shows what is missing next to each field and sends nothing", async () => {
    const { mock, onsaved } = await setup(null);
    await save();
    expect(byTestId("source-error-name").textContent).toBe("Enter a name");
    expect(byTestId("source-error-url").textContent).toBe("Enter the URL");
    expect(byTestId("source-form-error").textContent).toBe("Some fields need attention.");
    expect(field("name").getAttribute("aria-invalid")).toBe("true");
    expect(field("name").getAttribute("aria-describedby")).toContain("-error");
    await waitFor(() => expect(document.activeElement).toBe(field("name")));
    expect(mock.savedInputs).toEqual([]);
    expect(onsaved).not.toHaveBeenCalled();

    // Typing into a field clears its error.
    await type("name", "Alerts");
    expect(screen.queryByTestId("source-error-name")).toBeNull();
  });

  it("checks the URL for the protocol and the name for uniqueness", async () => {
    await setup(null);
    await type("name", "Orders");
    await type("url", "https://ntfy.sh/");
    await save();
    expect(byTestId("source-error-name").textContent).toBe("Another source is already called “Orders”");
    expect(byTestId("source-error-url").textContent).toBe("Add the topic to the URL, e.g. https://ntfy.sh/alerts");
    await type("url", "ftp://ntfy.sh/alerts");
    await save();
    expect(byTestId("source-error-url").textContent).toBe("Use ws://, wss://, http:// or https://, not ftp://");
  });

  it("adds an ntfy source with a token", async () => {
    const { mock, onsaved } = await setup(null);
    await type("name", "  Alerts ");
    await type("url", "https://ntfy.example.com/alerts");
    await choose("credentials", "token");
    await type("token", "tk_abc");
    await fireEvent.click(field("auth_in_query"));
    await save();
    await waitFor(() => expect(onsaved).toHaveBeenCalledWith({ id: expect.any(Number), name: "Alerts", added: true }));
    expect(mock.savedInputs[0]).toMatchObject({
      id: null,
      name: "Alerts",
      protocol: "ntfy",
      url: "https://ntfy.example.com/alerts",
      auth_in_query: true,
      credentials: { kind: "token", token: "tk_abc" },
      subscribe_frame: "",
      text_frames: false,
      read_timeout_secs: 90,
      max_frame_bytes: 1024 * 1024,
    });
  });

  it("pre-fills the JSON mapping with the defaults and checks the pointers", async () => {
    const { mock } = await setup(null);
    await choose("protocol", "json");
    const pointers = ["id", "title", "body", "priority", "time", "tags", "url", "group"].map((name) => field(`map-${name}`).value);
    expect(pointers).toEqual(["/id", "/title", "/message", "/priority", "/time", "/tags", "/url", "/group"]);
    await type("name", "Feed");
    await type("url", "wss://feed.example.com/v1");
    await type("map-title", "subject");
    await save();
    expect(byTestId("source-error-map").textContent).toBe("Title: a JSON Pointer starts with / (e.g. /data/title)");
    expect(field("map-title").getAttribute("aria-invalid")).toBe("true");
    expect(field("map-body").getAttribute("aria-invalid")).toBe("false");
    await type("map-title", "/subject");
    await type("map-url", "");
    await fireEvent.input(byTestId<HTMLTextAreaElement>("source-field-subscribe_frame"), { target: { value: '{"op":"subscribe"}' } });
    await save();
    await waitFor(() => expect(mock.savedInputs).toHaveLength(1));
    expect(mock.savedInputs[0]!.map).toMatchObject({ title: "/subject", url: "", body: "/message" });
    expect(mock.savedInputs[0]!.subscribe_frame).toBe('{"op":"subscribe"}');
  });

  it("offers username and password for ntfy only", async () => {
    await setup(null);
    const kinds = () => [...byTestId<HTMLSelectElement>("source-field-credentials").options].map((option) => option.value);
    expect(kinds()).toEqual(["none", "token", "basic"]);
    await choose("credentials", "basic");
    await choose("protocol", "gotify");
    expect(kinds()).toEqual(["none", "token"]);
    expect(byTestId<HTMLSelectElement>("source-field-credentials").value).toBe("token");
    expect(screen.getByLabelText("Client token")).toBeTruthy();
  });
});

describe("SourceForm: editing keeps secrets write-only", () => {
  it("sends keep and null header values when secrets are left alone", async () => {
    const { mock, onsaved } = await setup(2);
    expect(field("name").value).toBe("仓库传感器");
    expect(field("header-value").value).toBe("");
    expect(field("header-value").placeholder).toBe("stored — leave empty to keep");
    await save();
    await waitFor(() => expect(onsaved).toHaveBeenCalledWith({ id: 2, name: "仓库传感器", added: false }));
    expect(mock.savedInputs[0]).toMatchObject({
      id: 2,
      credentials: { kind: "keep" },
      headers: [{ name: "X-Api-Key", value: null }],
      map: { title: "/summary" },
    });
    expect(mock.sources.find((source) => source.id === 2)!.headers).toEqual([["X-Api-Key", "k-2f9a"]]);
  });

  it("keeps a stored token unless a new one is typed", async () => {
    const { mock } = await setup(1);
    expect(field("token").value).toBe("");
    expect(field("token").placeholder).toBe("stored — leave empty to keep");
    expect(screen.getByText(/A token is stored in the system keyring/)).toBeTruthy();
    await save();
    await waitFor(() => expect(mock.savedInputs).toHaveLength(1));
    expect(mock.savedInputs[0]!.credentials).toEqual({ kind: "keep" });

    await type("token", "tk_rotated");
    await save();
    await waitFor(() => expect(mock.savedInputs).toHaveLength(2));
    expect(mock.savedInputs[1]!.credentials).toEqual({ kind: "token", token: "tk_rotated" });
  });

  it("removes stored credentials only when asked, and can take that back", async () => {
    const { mock } = await setup(1);
    await fireEvent.click(byTestId("source-remove-credentials"));
    expect(byTestId("source-credentials-removed").textContent).toContain("will be deleted when you save");
    await fireEvent.click(byTestId("source-undo-remove-credentials"));
    expect(byTestId<HTMLSelectElement>("source-field-credentials").value).toBe("token");
    await fireEvent.click(byTestId("source-remove-credentials"));
    await save();
    await waitFor(() => expect(mock.savedInputs).toHaveLength(1));
    expect(mock.savedInputs[0]!.credentials).toEqual({ kind: "none" });
  });

  it("wants the password again when the username changes", async () => {
    const { mock } = await setup(4);
    expect(field("username").value).toBe("ci-bot");
    expect(field("password").placeholder).toBe("stored — leave empty to keep");
    await type("username", "ci-bot-2");
    await save();
    expect(byTestId("source-error-credentials").textContent).toBe("Enter both the username and the password");
    expect(mock.savedInputs).toEqual([]);
    await type("password", "s3cret");
    await save();
    await waitFor(() => expect(mock.savedInputs).toHaveLength(1));
    expect(mock.savedInputs[0]!.credentials).toEqual({ kind: "basic", username: "ci-bot-2", password: "s3cret" });
  });

  it("needs a value for a renamed or new header", async () => {
    const { mock } = await setup(2);
    await type("header-name", "X-Renamed");
    await save();
    expect(byTestId("source-error-headers").textContent).toBe("Enter a value for X-Renamed");
    await fireEvent.click(byTestId("source-add-header"));
    expect(screen.getAllByTestId("source-header-row")).toHaveLength(2);
    await fireEvent.click(screen.getAllByTestId("source-remove-header")[0]!);
    // A blank new row is ignored.
    await save();
    await waitFor(() => expect(mock.savedInputs).toHaveLength(1));
    expect(mock.savedInputs[0]!.headers).toEqual([]);
  });
});

describe("SourceForm: the backend's answers", () => {
  it("puts a field error from the backend next to its field and opens Advanced for it", async () => {
    const { mock, onsaved } = await setup(null);
    await type("name", "Alerts");
    await type("url", "https://ntfy.example.com/alerts");
    const advanced = byTestId<HTMLDetailsElement>("source-advanced").closest("details")!;
    expect(advanced.open).toBe(false);
    await type("ca_file", "/etc/ssl/missing-ca.pem");
    await save();
    await waitFor(() => expect(screen.getByTestId("source-error-ca_file").textContent).toMatch(/cannot read ca file/));
    expect(advanced.open).toBe(true);
    expect(field("ca_file").getAttribute("aria-invalid")).toBe("true");
    expect(onsaved).not.toHaveBeenCalled();
    expect(mock.savedInputs).toHaveLength(1);
  });

  it("shows an error without a field above the buttons", async () => {
    const { mock } = await setup(null);
    vi.spyOn(mock, "saveSource").mockRejectedValueOnce({ code: "storage", message: "database is locked", field: null });
    await type("name", "Alerts");
    await type("url", "https://ntfy.example.com/alerts");
    await save();
    await waitFor(() => expect(byTestId("source-form-error").textContent).toBe("database is locked"));
  });

  it("places a server error on any named field", async () => {
    const { mock } = await setup(null);
    vi.spyOn(mock, "saveSource").mockRejectedValueOnce(new BackendError("invalid", "url host is not allowed", "url"));
    await type("name", "Alerts");
    await type("url", "https://ntfy.example.com/alerts");
    await save();
    await waitFor(() => expect(byTestId("source-error-url").textContent).toBe("url host is not allowed"));
  });

  it("tests the connection and says what it found", async () => {
    const { mock } = await setup(null);
    await type("url", "https://ntfy.example.com/alerts");
    // A test needs no name.
    await fireEvent.click(byTestId("source-test"));
    const result = byTestId<HTMLElement>("source-probe-result");
    await waitFor(() => expect(result.dataset.state).toBe("connected"));
    expect(result.textContent).toMatch(/Connected in \d+ ms/);
    expect(result.textContent).toContain("First message");
    expect(mock.savedInputs).toEqual([]);

    await choose("credentials", "token");
    await type("token", "wrong");
    await fireEvent.click(byTestId("source-test"));
    await waitFor(() => expect(result.dataset.state).toBe("auth_failed"));
    expect(result.textContent).toContain("The server refused the credentials");
    expect(result.textContent).toContain("Check the token");

    await type("url", "https://feed.invalid/alerts");
    await fireEvent.click(byTestId("source-test"));
    await waitFor(() => expect(result.dataset.state).toBe("failed"));
    expect(result.textContent).toContain("Couldn't connect");
    expect(result.textContent).toContain("feed.invalid");
  });

  it("lets an input method's Enter pick a candidate without submitting", async () => {
    await setup(null);
    const composing = await fireEvent.keyDown(field("name"), { key: "Enter", isComposing: true });
    expect(composing, "the IME Enter is cancelled").toBe(false);
    const typing = await fireEvent.keyDown(field("name"), { key: "a" });
    expect(typing).toBe(true);
  });
});

describe("SourceForm: STOMP and MQTT brokers", () => {
  const rows = () => screen.queryAllByTestId<HTMLInputElement>("source-field-subscription");
  const typeRow = (index: number, value: string) => fireEvent.input(rows()[index]!, { target: { value } });
  const options = (name: string) => [...byTestId<HTMLSelectElement>(`source-field-${name}`).options].map((option) => option.value);

  it("offers the brokers, never the local publish API", async () => {
    await setup(null);
    expect(options("protocol")).toEqual(["ntfy", "gotify", "json", "stomp", "mqtt"]);
    expect([...byTestId<HTMLSelectElement>("source-field-protocol").options].map((option) => option.textContent)).toEqual([
      "ntfy",
      "Gotify",
      "JSON feed",
      "STOMP",
      "MQTT",
    ]);
  });

  it("shows STOMP's own fields and hides what brokers do not use", async () => {
    await setup(null);
    await choose("protocol", "stomp");
    expect(field("url").placeholder).toBe("ws://broker:15674/ws");
    expect(screen.getByText(/RabbitMQ Web-STOMP on port 15674/)).toBeTruthy();
    expect(screen.getByText("Destinations")).toBeTruthy();
    expect(rows(), "one empty row to type into").toHaveLength(1);
    expect(rows()[0]!.getAttribute("aria-label")).toBe("Destination 1");
    expect(field("virtual_host").placeholder).toBe("/");
    expect(field("id_header").placeholder).toBe("amqp-message-id");
    expect(field("durable").checked).toBe(false);
    expect(screen.queryByTestId("source-field-client_id"), "the client id only names a durable subscription").toBeNull();
    await fireEvent.click(field("durable"));
    expect(field("client_id")).toBeTruthy();
    expect(screen.getByText(/Messages published while Herald is off are delivered later/)).toBeTruthy();
    expect(screen.queryByTestId("source-field-qos")).toBeNull();

    expect(options("credentials")).toEqual(["none", "basic"]);
    await choose("credentials", "basic");
    expect(screen.queryByTestId("source-field-token")).toBeNull();
    expect(screen.queryByTestId("source-field-auth_in_query")).toBeNull();
    expect(screen.getByText("Sent as the STOMP login and passcode.")).toBeTruthy();
    // A broker's JSON bodies are mapped like a JSON feed's; the feed-only settings stay hidden.
    expect(field("map-title").value).toBe("/title");
    expect(screen.queryByTestId("source-field-subscribe_frame")).toBeNull();
    expect(screen.queryByTestId("source-field-resume_url")).toBeNull();
    expect(screen.queryByTestId("source-field-text_frames")).toBeNull();
    // Headers, the CA file and the limits are still there.
    for (const name of ["ca_file", "read_timeout_secs", "max_frame_bytes"]) expect(field(name)).toBeTruthy();
    expect(byTestId("source-add-header")).toBeTruthy();
    expect(byTestId("source-test")).toBeTruthy();
  });

  it("needs a destination, checks each one, and sends the STOMP settings", async () => {
    const { mock, onsaved } = await setup(null);
    await choose("protocol", "stomp");
    await type("name", "Shop events");
    await type("url", "wss://rabbit.example.com:15673/ws");
    await save();
    expect(byTestId("source-error-subscriptions").textContent).toBe("Add at least one destination");
    await waitFor(() => expect(document.activeElement).toBe(rows()[0]));
    expect(mock.savedInputs).toEqual([]);

    await typeRow(0, "exchange/amq.topic/orders.#");
    expect(screen.queryByTestId("source-error-subscriptions"), "typing clears the error").toBeNull();
    await save();
    expect(byTestId("source-error-subscriptions").textContent).toBe("“exchange/amq.topic/orders.#”: a destination starts with / (e.g. /topic/alerts)");
    expect(rows()[0]!.getAttribute("aria-invalid")).toBe("true");

    await typeRow(0, " /exchange/amq.topic/orders.# ");
    await fireEvent.click(byTestId("source-add-subscription"));
    await fireEvent.click(byTestId("source-add-subscription"));
    expect(rows()).toHaveLength(3);
    expect(screen.getAllByTestId("source-remove-subscription")[2]!.getAttribute("aria-label")).toBe("Remove destination 3");
    await typeRow(1, "/queue/alerts");
    await fireEvent.click(screen.getAllByTestId("source-remove-subscription")[2]!);
    expect(rows()).toHaveLength(2);
    await type("virtual_host", "/shop");
    await fireEvent.click(field("durable"));
    await type("client_id", "herald\torders");
    await type("id_header", "message-id: 1");
    await save();
    expect(byTestId("source-error-id_header").textContent).toBe("“message-id: 1” is not a header name: leave out colons and line breaks");
    expect(byTestId("source-error-client_id").textContent).toBe("Keep the client id to 64 printable characters");
    expect(screen.queryByTestId("source-error-subscriptions")).toBeNull();
    await type("client_id", "herald-orders");
    await type("id_header", "message-id");
    await choose("credentials", "basic");
    await type("username", "herald");
    await type("password", "s3cret");
    await save();
    await waitFor(() => expect(onsaved).toHaveBeenCalledWith({ id: expect.any(Number), name: "Shop events", added: true }));
    expect(mock.savedInputs[0]).toMatchObject({
      protocol: "stomp",
      url: "wss://rabbit.example.com:15673/ws",
      subscriptions: ["/exchange/amq.topic/orders.#", "/queue/alerts"],
      virtual_host: "/shop",
      client_id: "herald-orders",
      durable: true,
      id_header: "message-id",
      qos: 1,
      auth_in_query: false,
      subscribe_frame: "",
      resume_url: "",
      text_frames: false,
      credentials: { kind: "basic", username: "herald", password: "s3cret" },
    });
  });

  it("shows MQTT's fields with a persistent session and QoS 1 to start with", async () => {
    await setup(null);
    await choose("protocol", "mqtt");
    expect(field("url").placeholder).toBe("ws://broker:15675/ws");
    expect(screen.getByText(/EMQX, HiveMQ and Mosquitto/)).toBeTruthy();
    expect(screen.getByText("Topic filters")).toBeTruthy();
    expect(rows()[0]!.placeholder).toBe("alerts/#");
    expect(byTestId<HTMLSelectElement>("source-field-qos").value).toBe("1");
    expect(options("qos")).toEqual(["0", "1"]);
    expect(field("durable").checked).toBe(true);
    expect(screen.getByText("Persistent session")).toBeTruthy();
    expect(field("client_id").value).toBe("");
    expect(screen.getByText(/made up when empty\. Keep it stable for a persistent session/)).toBeTruthy();
    expect(screen.queryByTestId("source-field-virtual_host")).toBeNull();
    expect(screen.queryByTestId("source-field-id_header")).toBeNull();
    expect(options("credentials")).toEqual(["none", "basic"]);
  });

  it("checks MQTT topic filters and sends the MQTT settings", async () => {
    const { mock } = await setup(null);
    await choose("protocol", "mqtt");
    await type("name", "Freezers");
    await type("url", "ws://mqtt.warehouse.lan:15675/ws");
    await typeRow(0, "alerts/#/more");
    await save();
    expect(byTestId("source-error-subscriptions").textContent).toBe("“alerts/#/more”: # must be the last level, on its own (e.g. alerts/#)");
    await typeRow(0, "sensors/a+/alarm");
    await save();
    expect(byTestId("source-error-subscriptions").textContent).toBe("“sensors/a+/alarm”: + must be a whole level (e.g. sensors/+/alarm)");
    expect(mock.savedInputs).toEqual([]);

    await typeRow(0, "sensors/+/alarm");
    await fireEvent.click(byTestId("source-add-subscription"));
    await typeRow(1, "cold-room/#");
    await choose("qos", "0");
    await fireEvent.click(field("durable"));
    await type("client_id", "herald-cold");
    await type("map-title", "/alarm");
    await save();
    await waitFor(() => expect(mock.savedInputs).toHaveLength(1));
    expect(mock.savedInputs[0]).toMatchObject({
      protocol: "mqtt",
      subscriptions: ["sensors/+/alarm", "cold-room/#"],
      client_id: "herald-cold",
      qos: 0,
      durable: false,
      virtual_host: "",
      id_header: "",
      credentials: { kind: "none" },
    });
    expect(mock.savedInputs[0]!.map.title).toBe("/alarm");
  });

  it("switches a token to a username and password for a broker", async () => {
    const { mock } = await setup(null);
    await choose("credentials", "token");
    await choose("protocol", "mqtt");
    expect(byTestId<HTMLSelectElement>("source-field-credentials").value).toBe("basic");
    await choose("protocol", "ntfy");
    expect(screen.queryByTestId("source-subscription-row"), "ntfy has no subscriptions").toBeNull();
    await type("name", "Alerts");
    await type("url", "https://ntfy.example.com/alerts");
    await choose("credentials", "none");
    await save();
    await waitFor(() => expect(mock.savedInputs).toHaveLength(1));
    // Broker settings stay at their defaults for other protocols.
    expect(mock.savedInputs[0]).toMatchObject({ subscriptions: [], virtual_host: "", client_id: "", qos: 1, durable: false, id_header: "" });
  });

  it("tests a broker connection with the form's subscriptions", async () => {
    const { mock } = await setup(null);
    await choose("protocol", "mqtt");
    await type("url", "ws://mqtt.warehouse.lan:15675/ws");
    await fireEvent.click(byTestId("source-test"));
    expect(byTestId("source-error-subscriptions").textContent).toBe("Add at least one topic filter");
    expect(mock.testedInputs).toEqual([]);
    await typeRow(0, "alerts/#");
    await fireEvent.click(byTestId("source-test"));
    const result = byTestId<HTMLElement>("source-probe-result");
    await waitFor(() => expect(result.dataset.state).toBe("connected"));
    expect(mock.testedInputs[0]).toMatchObject({ protocol: "mqtt", subscriptions: ["alerts/#"], durable: true, qos: 1 });
  });

  it("edits a STOMP source with its password kept write-only", async () => {
    const { mock, onsaved } = await setup(7);
    expect(field("name").value).toBe("Order events");
    expect(byTestId<HTMLSelectElement>("source-field-protocol").disabled).toBe(true);
    expect(rows().map((row) => row.value)).toEqual(["/exchange/amq.topic/orders.#", "/queue/alerts"]);
    expect(field("virtual_host").value).toBe("/shop");
    expect(field("durable").checked).toBe(true);
    expect(field("client_id").value).toBe("herald-order-events");
    expect(field("username").value).toBe("herald");
    expect(field("password").value).toBe("");
    expect(field("password").placeholder).toBe("stored — leave empty to keep");
    await fireEvent.click(screen.getAllByTestId("source-remove-subscription")[1]!);
    await save();
    await waitFor(() => expect(onsaved).toHaveBeenCalledWith({ id: 7, name: "Order events", added: false }));
    expect(mock.savedInputs[0]).toMatchObject({
      id: 7,
      credentials: { kind: "keep" },
      subscriptions: ["/exchange/amq.topic/orders.#"],
      client_id: "herald-order-events",
      durable: true,
    });
    expect(mock.sources.find((source) => source.id === 7)!.credentials).toEqual({ username: "herald", password: "demo-passcode" });
  });
});

describe("SourceForm: credentials over plain ws://", () => {
  const checkbox = () => screen.queryByTestId<HTMLInputElement>("source-field-allow_plain_credentials");
  const PLAIN_ERROR = "The credentials would go to ntfy.example.com unencrypted: use wss:// if the server offers it, or tick this box to send them anyway";

  it("asks only for plain ws:// or http:// to another machine with credentials to send", async () => {
    await setup(null);
    await type("url", "http://ntfy.example.com/alerts");
    expect(checkbox(), "nothing secret to send yet").toBeNull();
    await choose("credentials", "token");
    await type("token", "tk_abc");
    for (const url of ["https://ntfy.example.com/alerts", "wss://ntfy.example.com/alerts", "http://127.0.0.1:8080/alerts", "ws://[::1]/alerts", "http://localhost:8080/alerts"]) {
      await type("url", url);
      expect(checkbox(), url).toBeNull();
    }
    await type("url", "ws://ntfy.example.com/alerts");
    expect(checkbox()!.checked).toBe(false);
    expect(byTestId("source-plain-credentials-warning").textContent).toBe(
      "Anyone on the network between you and ntfy.example.com can read this source's password or token. Prefer wss:// or https://.",
    );
    expect(checkbox()!.getAttribute("aria-describedby")).toMatch(/-hint$/);

    await choose("credentials", "none");
    expect(checkbox(), "no credentials any more").toBeNull();
    // An Authorization header is as secret as a token.
    await fireEvent.click(byTestId("source-add-header"));
    await type("header-name", "Authorization");
    await type("header-value", "Bearer abc");
    expect(checkbox()).not.toBeNull();
  });

  it("refuses to save or test until the box is ticked, then sends true", async () => {
    const { mock, onsaved } = await setup(null);
    await type("name", "Alerts");
    await type("url", "http://ntfy.example.com/alerts");
    await choose("credentials", "token");
    await type("token", "tk_abc");
    await save();
    expect(byTestId("source-error-allow_plain_credentials").textContent!.trim()).toBe(PLAIN_ERROR);
    expect(checkbox()!.getAttribute("aria-invalid")).toBe("true");
    await waitFor(() => expect(document.activeElement).toBe(checkbox()));
    await fireEvent.click(byTestId("source-test"));
    expect(mock.savedInputs, "the backend is not asked").toEqual([]);
    expect(mock.testedInputs).toEqual([]);

    await fireEvent.click(checkbox()!);
    expect(screen.queryByTestId("source-error-allow_plain_credentials")).toBeNull();
    await save();
    await waitFor(() => expect(onsaved).toHaveBeenCalledWith({ id: expect.any(Number), name: "Alerts", added: true }));
    expect(mock.savedInputs[0]).toMatchObject({ url: "http://ntfy.example.com/alerts", allow_plain_credentials: true });
  });

  it("sends false while the box is hidden, even ticked before", async () => {
    const { mock } = await setup(null);
    await type("name", "Alerts");
    await type("url", "ws://ntfy.example.com/alerts");
    await choose("credentials", "token");
    await type("token", "tk_abc");
    await fireEvent.click(checkbox()!);
    await type("url", "wss://ntfy.example.com/alerts");
    expect(checkbox()).toBeNull();
    await save();
    await waitFor(() => expect(mock.savedInputs).toHaveLength(1));
    expect(mock.savedInputs[0]!.allow_plain_credentials).toBe(false);
  });

  it("asks when a source with a kept stored token moves to http:// on another machine", async () => {
    const { mock, onsaved } = await setup(1);
    expect(checkbox(), "wss:// to start with").toBeNull();
    await type("url", "http://ntfy.example.com/orders");
    expect(checkbox()).not.toBeNull();
    await save();
    expect(byTestId("source-error-allow_plain_credentials").textContent!.trim()).toBe(PLAIN_ERROR);
    expect(mock.savedInputs).toEqual([]);
    await fireEvent.click(checkbox()!);
    await save();
    await waitFor(() => expect(onsaved).toHaveBeenCalledWith({ id: 1, name: "Orders", added: false }));
    expect(mock.savedInputs[0]).toMatchObject({ credentials: { kind: "keep" }, allow_plain_credentials: true });
  });

  it("shows a stored confirmation ticked when editing", async () => {
    const { mock, onsaved } = await setup(1, (backend) => {
      const orders = backend.sources.find((source) => source.id === 1)!;
      orders.url = "ws://ntfy.example.com/orders/ws";
      orders.allowPlainCredentials = true;
    });
    expect(checkbox()!.checked).toBe(true);
    await save();
    await waitFor(() => expect(onsaved).toHaveBeenCalled());
    expect(mock.savedInputs[0]!.allow_plain_credentials).toBe(true);
  });

  it("puts the backend's refusal next to the box, even where the form did not ask", async () => {
    // Credentials stored since the form opened (from the command line): only the backend knows.
    const { mock } = await setup(8);
    expect(checkbox()).toBeNull();
    vi.spyOn(mock, "saveSource").mockRejectedValueOnce(
      new BackendError(
        "invalid",
        "this source would send its credentials unencrypted to mqtt.warehouse.lan over ws://; use wss:// if the server offers it, or confirm sending them in plain text for this source",
        "allow_plain_credentials",
      ),
    );
    await save();
    await waitFor(() => expect(byTestId("source-error-allow_plain_credentials").textContent).toMatch(/unencrypted to mqtt\.warehouse\.lan/));
    expect(checkbox()!.checked).toBe(false);
    await fireEvent.click(checkbox()!);
    await save();
    // The refused call was the spy's; this one reaches the mock.
    await waitFor(() => expect(mock.savedInputs).toHaveLength(1));
    expect(mock.savedInputs[0]!.allow_plain_credentials).toBe(true);
  });
});
