// A Java client of `m serve`: the JDK alone (java.net.http), no other library.
//
//   m serve sentiment:1 --port 8000
//   javac -d out MClient.java
//   java -cp out MClient http://127.0.0.1:8000 "great food" "cold soup"      a Text model: texts
//   java -cp out MClient http://127.0.0.1:8000 photo.png                     an Image model: files
//   java -cp out MClient http://127.0.0.1:8000 --inputs examples.json        a Tensor model: a JSON
//                                                                            list of examples
// It reads the server's OpenAPI schema (/openapi.json) to find the prediction endpoint and what one
// example is (a string, a base64 image, a nested list of numbers of a fixed shape), asks /healthz
// for the model's name, posts {"inputs": [...]} and prints one line per example:
//   LABEL<TAB>OUTPUT OUTPUT ...      (LABEL is "-" when the model is not a classifier)
// A bearer token, when the server wants one, comes from $M_SERVE_TOKEN.
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

public final class MClient {
    private static final Pattern PREDICT_PATH = Pattern.compile("/v1/models/\\{[^}]+}/predict");

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)  // m serve speaks HTTP/1.1; skip the h2c upgrade attempt
            .connectTimeout(Duration.ofSeconds(10)).build();
    private final String base;
    private final String token = System.getenv("M_SERVE_TOKEN");

    MClient(String base) {
        this.base = base.replaceAll("/+$", "");
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: java MClient URL TEXT...|IMAGE_FILE...|--inputs EXAMPLES.json");
            System.exit(2);
        }
        MClient client = new MClient(args[0]);
        try {
            Map<String, Object> schema = client.exampleSchema();
            List<Object> inputs = new ArrayList<>();
            if (args[1].equals("--inputs")) {
                inputs.addAll(asList(Json.parse(Files.readString(Path.of(args[2]))), "the examples file"));
            } else {
                for (int i = 1; i < args.length; i++) inputs.add(example(args[i], schema));
            }
            for (int i = 0; i < inputs.size(); i++) check(inputs.get(i), schema, "inputs[" + i + "]");
            Map<String, Object> answer = client.predict(inputs);
            List<Object> outputs = asList(answer.get("outputs"), "outputs");
            List<Object> labels = answer.containsKey("labels") ? asList(answer.get("labels"), "labels") : null;
            for (int i = 0; i < outputs.size(); i++) {
                StringBuilder line = new StringBuilder(labels == null ? "-" : (String) labels.get(i)).append('\t');
                List<Double> numbers = new ArrayList<>();
                flatten(outputs.get(i), numbers);
                for (int j = 0; j < numbers.size(); j++) line.append(j == 0 ? "" : " ").append(numbers.get(j));
                System.out.println(line);
            }
        } catch (ClientError error) {
            System.err.println("MClient: " + error.getMessage());
            System.exit(1);
        }
    }

    /** The schema of one example, from the request body of the prediction endpoint. */
    @SuppressWarnings("unchecked")
    Map<String, Object> exampleSchema() throws IOException, InterruptedException {
        Map<String, Object> openapi = asMap(Json.parse(get("/openapi.json")), "/openapi.json");
        for (Map.Entry<String, Object> path : asMap(openapi.get("paths"), "paths").entrySet()) {
            if (!PREDICT_PATH.matcher(path.getKey()).matches()) continue;
            Object schema = dig(path.getValue(), "post", "requestBody", "content", "application/json", "schema",
                    "properties", "inputs", "items");
            return asMap(schema, "the schema of an example");
        }
        throw new ClientError("the server's OpenAPI schema has no /v1/models/{name}/predict endpoint");
    }

    Map<String, Object> predict(List<Object> inputs) throws IOException, InterruptedException {
        String name = (String) asMap(Json.parse(get("/healthz")), "/healthz").get("model");
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("inputs", inputs);
        HttpRequest request = authorized(HttpRequest.newBuilder(URI.create(base + "/v1/models/" + name + "/predict")))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(Json.write(body)))
                .timeout(Duration.ofSeconds(120)).build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new ClientError("the server answered " + response.statusCode() + ": " + response.body());
        }
        return asMap(Json.parse(response.body()), "the answer");
    }

    private String get(String path) throws IOException, InterruptedException {
        HttpRequest request = authorized(HttpRequest.newBuilder(URI.create(base + path)))
                .timeout(Duration.ofSeconds(30)).GET().build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new ClientError("GET " + path + " answered " + response.statusCode() + ": " + response.body());
        }
        return response.body();
    }

    private HttpRequest.Builder authorized(HttpRequest.Builder builder) {
        return token == null ? builder : builder.header("Authorization", "Bearer " + token);
    }

    /** A command-line argument as one example of the schema's kind. */
    private static Object example(String argument, Map<String, Object> schema) throws IOException {
        if ("string".equals(schema.get("type")) && "base64".equals(schema.get("format"))) {
            return Base64.getEncoder().encodeToString(Files.readAllBytes(Path.of(argument)));  // an image file
        }
        if ("string".equals(schema.get("type"))) return argument;                                 // a text
        return Json.parse(argument);                                                              // JSON numbers
    }

    /** An example checked against the schema before it is sent: type, and fixed dims. */
    private static void check(Object value, Map<String, Object> schema, String where) {
        Object type = schema.get("type");
        if ("string".equals(type) && !(value instanceof String)) throw new ClientError(where + ": expected a string");
        if ("number".equals(type) && !(value instanceof Double)) throw new ClientError(where + ": expected a number");
        if ("array".equals(type)) {
            List<Object> items = asList(value, where);
            Object min = schema.get("minItems");
            if (min != null && items.size() != ((Double) min).intValue()) {
                throw new ClientError(where + ": expected " + ((Double) min).intValue() + " items, got " + items.size());
            }
            Map<String, Object> itemSchema = asMap(schema.get("items"), "items");
            for (int i = 0; i < items.size(); i++) check(items.get(i), itemSchema, where + "[" + i + "]");
        }
    }

    private static void flatten(Object value, List<Double> out) {
        if (value instanceof List) {
            for (Object item : (List<?>) value) flatten(item, out);
        } else {
            out.add((Double) value);
        }
    }

    private static Object dig(Object value, String... keys) {
        for (String key : keys) value = asMap(value, key).get(key);
        return value;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object value, String what) {
        if (!(value instanceof Map)) throw new ClientError(what + " is not a JSON object");
        return (Map<String, Object>) value;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> asList(Object value, String what) {
        if (!(value instanceof List)) throw new ClientError(what + " is not a JSON list");
        return (List<Object>) value;
    }

    static final class ClientError extends RuntimeException {
        ClientError(String message) {
            super(message);
        }
    }

    /** Just enough JSON: objects (LinkedHashMap), lists, strings, numbers (Double), booleans, null. */
    static final class Json {
        private final String text;
        private int at;

        private Json(String text) {
            this.text = text;
        }

        static Object parse(String text) {
            Json json = new Json(text);
            Object value = json.value();
            json.space();
            if (json.at != text.length()) throw json.error("trailing characters");
            return value;
        }

        static String write(Object value) {
            StringBuilder out = new StringBuilder();
            write(value, out);
            return out.toString();
        }

        private static void write(Object value, StringBuilder out) {
            if (value == null) {
                out.append("null");
            } else if (value instanceof String) {
                out.append('"');
                for (char c : ((String) value).toCharArray()) {
                    switch (c) {
                        case '"': out.append("\\\""); break;
                        case '\\': out.append("\\\\"); break;
                        case '\n': out.append("\\n"); break;
                        case '\r': out.append("\\r"); break;
                        case '\t': out.append("\\t"); break;
                        default:
                            if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                            else out.append(c);
                    }
                }
                out.append('"');
            } else if (value instanceof Map) {
                out.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                    if (!first) out.append(',');
                    first = false;
                    write(String.valueOf(entry.getKey()), out);
                    out.append(':');
                    write(entry.getValue(), out);
                }
                out.append('}');
            } else if (value instanceof List) {
                out.append('[');
                List<?> items = (List<?>) value;
                for (int i = 0; i < items.size(); i++) {
                    if (i > 0) out.append(',');
                    write(items.get(i), out);
                }
                out.append(']');
            } else if (value instanceof Double) {
                double number = (Double) value;
                if (!Double.isFinite(number)) throw new ClientError("JSON cannot carry " + number);
                out.append(number == Math.rint(number) && Math.abs(number) < 1e15 ? Long.toString((long) number)
                        : Double.toString(number));
            } else {
                out.append(value);  // Boolean
            }
        }

        private Object value() {
            space();
            if (at >= text.length()) throw error("unexpected end");
            char c = text.charAt(at);
            if (c == '{') return object();
            if (c == '[') return list();
            if (c == '"') return string();
            if (text.startsWith("true", at)) { at += 4; return Boolean.TRUE; }
            if (text.startsWith("false", at)) { at += 5; return Boolean.FALSE; }
            if (text.startsWith("null", at)) { at += 4; return null; }
            return number();
        }

        private Map<String, Object> object() {
            Map<String, Object> map = new LinkedHashMap<>();
            at++;
            space();
            if (peek() == '}') { at++; return map; }
            while (true) {
                space();
                String key = string();
                space();
                expect(':');
                map.put(key, value());
                space();
                if (peek() == ',') { at++; continue; }
                expect('}');
                return map;
            }
        }

        private List<Object> list() {
            List<Object> items = new ArrayList<>();
            at++;
            space();
            if (peek() == ']') { at++; return items; }
            while (true) {
                items.add(value());
                space();
                if (peek() == ',') { at++; continue; }
                expect(']');
                return items;
            }
        }

        private String string() {
            expect('"');
            StringBuilder out = new StringBuilder();
            while (true) {
                if (at >= text.length()) throw error("unterminated string");
                char c = text.charAt(at++);
                if (c == '"') return out.toString();
                if (c != '\\') { out.append(c); continue; }
                char e = text.charAt(at++);
                switch (e) {
                    case 'n': out.append('\n'); break;
                    case 't': out.append('\t'); break;
                    case 'r': out.append('\r'); break;
                    case 'b': out.append('\b'); break;
                    case 'f': out.append('\f'); break;
                    case 'u': out.append((char) Integer.parseInt(text.substring(at, at + 4), 16)); at += 4; break;
                    default: out.append(e);  // \" \\ \/
                }
            }
        }

        private Double number() {
            int start = at;
            while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) at++;
            if (start == at) throw error("unexpected character '" + text.charAt(at) + "'");
            return Double.valueOf(text.substring(start, at));
        }

        private char peek() {
            if (at >= text.length()) throw error("unexpected end");
            return text.charAt(at);
        }

        private void expect(char c) {
            if (peek() != c) throw error("expected '" + c + "'");
            at++;
        }

        private void space() {
            while (at < text.length() && Character.isWhitespace(text.charAt(at))) at++;
        }

        private ClientError error(String message) {
            return new ClientError("bad JSON at character " + at + ": " + message);
        }
    }
}
