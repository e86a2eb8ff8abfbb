using System.Text;
using System.Text.Json;

namespace IamFulfillment.Core.Policy;

/// <summary>
/// Reads a JSON document element by element, collecting every error with its path and line instead of
/// stopping at the first: the policy validator reports them all at once.
/// </summary>
internal sealed class JsonWalker
{
    private readonly Dictionary<string, List<int>> _lines;

    public JsonWalker(byte[] utf8)
    {
        _lines = IndexLines(utf8);
    }

    public List<PolicyError> Errors { get; } = [];

    public void Error(string path, string message) => Errors.Add(new PolicyError(path, LineOf(path), message));

    /// <summary>The line a path's value starts on; for a path the file does not contain (a required key that is
    /// missing), the line of the nearest enclosing element, so every error says where to look.</summary>
    public int? LineOf(string path)
    {
        for (var p = path; p.Length > 0; p = Parent(p))
        {
            if (_lines.TryGetValue(p, out var lines))
            {
                return lines[0];
            }
        }

        return null;
    }

    /// <summary>
    /// Unknown keys and keys given twice are errors: a typo must not silently drop a safeguard, and with a key
    /// twice ("tier": "standard", …, "tier": "privileged") a reviewer may read one value while the loader uses another.
    /// </summary>
    public void CheckKeys(JsonElement obj, string path, params string[] allowed)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var property in obj.EnumerateObject())
        {
            var propertyPath = $"{path}.{property.Name}";
            var occurrence = seen[property.Name] = seen.GetValueOrDefault(property.Name) + 1;
            if (occurrence == 2)
            {
                var line = _lines.TryGetValue(propertyPath, out var lines) && lines.Count > 1 ? lines[1] : LineOf(propertyPath);
                Errors.Add(new PolicyError(propertyPath, line, $"key '{property.Name}' is given more than once"));
            }
            else if (occurrence == 1 && !allowed.Contains(property.Name, StringComparer.Ordinal))
            {
                Error(propertyPath, $"unknown key '{property.Name}' (allowed: {string.Join(", ", allowed)})");
            }
        }
    }

    private static string Parent(string path)
    {
        var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut <= 0 ? "" : path[..cut];
    }

    public bool IsObject(JsonElement element, string path)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            return true;
        }

        Error(path, $"expected an object, found {Describe(element)}");
        return false;
    }

    public string? String(JsonElement obj, string path, string name, bool required = false)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                Error($"{path}.{name}", "required");
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            Error($"{path}.{name}", $"expected a string, found {Describe(value)}");
            return null;
        }

        var text = value.GetString();
        if (required && string.IsNullOrWhiteSpace(text))
        {
            Error($"{path}.{name}", "must not be empty");
            return null;
        }

        return text;
    }

    public int? Int(JsonElement obj, string path, string name, int min, int max)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number))
        {
            Error($"{path}.{name}", $"expected a whole number, found {Describe(value)}");
            return null;
        }

        if (number < min || number > max)
        {
            Error($"{path}.{name}", $"must be between {min} and {max}, found {number}");
            return null;
        }

        return number;
    }

    public bool? Bool(JsonElement obj, string path, string name)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            Error($"{path}.{name}", $"expected true or false, found {Describe(value)}");
            return null;
        }

        return value.GetBoolean();
    }

    public IReadOnlyList<string> Strings(JsonElement obj, string path, string name)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            Error($"{path}.{name}", $"expected a list of strings, found {Describe(value)}");
            return [];
        }

        var list = new List<string>();
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(item.GetString()))
            {
                list.Add(item.GetString()!);
            }
            else
            {
                Error($"{path}.{name}[{index}]", $"expected a non-empty string, found {Describe(item)}");
            }

            index++;
        }

        return list;
    }

    public IEnumerable<(JsonElement Item, string Path)> Array(JsonElement obj, string path, string name)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            yield break;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            Error($"{path}.{name}", $"expected a list, found {Describe(value)}");
            yield break;
        }

        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            yield return (item, $"{path}.{name}[{index}]");
            index++;
        }
    }

    public JsonElement? Object(JsonElement obj, string path, string name)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return IsObject(value, $"{path}.{name}") ? value : null;
    }

    private static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => $"the string \"{Truncate(element.GetString())}\"",
        JsonValueKind.Number => $"the number {element.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"the value {element.GetRawText()}",
        _ => "null",
    };

    private static string Truncate(string? text) => text is null ? "" : text.Length <= 40 ? text : text[..40] + "…";

    /// <summary>Maps each JSON path to the line its value starts on, so errors can say where to look.</summary>
    private static Dictionary<string, List<int>> IndexLines(byte[] utf8)
    {
        var lines = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        void Add(string path, int line)
        {
            if (!lines.TryGetValue(path, out var list))
            {
                lines[path] = list = [];
            }

            list.Add(line);
        }

        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            var stack = new Stack<(bool IsArray, string Path, int Index)>();
            string? pendingName = null;
            var lineStarts = LineStarts(utf8);
            while (reader.Read())
            {
                var line = LineAt(lineStarts, reader.TokenStartIndex);
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        pendingName = reader.GetString();
                        break;
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                    {
                        var path = NextPath(stack, ref pendingName);
                        Add(path, line);
                        stack.Push((reader.TokenType == JsonTokenType.StartArray, path, 0));
                        break;
                    }
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        stack.Pop();
                        break;
                    default:
                        Add(NextPath(stack, ref pendingName), line);
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // The parse error itself is reported by the loader; line hints are best effort.
        }

        return lines;
    }

    private static string NextPath(Stack<(bool IsArray, string Path, int Index)> stack, ref string? pendingName)
    {
        if (stack.Count == 0)
        {
            return "$";
        }

        var parent = stack.Pop();
        string path;
        if (parent.IsArray)
        {
            path = $"{parent.Path}[{parent.Index}]";
            parent.Index++;
        }
        else
        {
            path = $"{parent.Path}.{pendingName}";
            pendingName = null;
        }

        stack.Push(parent);
        return path;
    }

    private static List<long> LineStarts(byte[] utf8)
    {
        var starts = new List<long> { 0 };
        for (var i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] == (byte)'\n')
            {
                starts.Add(i + 1);
            }
        }

        return starts;
    }

    private static int LineAt(List<long> starts, long offset)
    {
        var index = starts.BinarySearch(offset);
        return (index >= 0 ? index : ~index - 1) + 1;
    }

    public static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
