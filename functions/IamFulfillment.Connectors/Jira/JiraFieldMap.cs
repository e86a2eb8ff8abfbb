using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using IamFulfillment.Core.Model;

namespace IamFulfillment.Connectors.Jira;

/// <summary>
/// Translates between the normalised request fields and the site's Jira fields (<c>Jira:FieldMap</c>), and turns
/// Jira field values (options, users, arrays, ADF rich text, dates and date-times) into the plain text the core reads.
/// </summary>
public sealed partial class JiraFieldMap
{
    /// <summary>The name a change of the request type is reported under, as ServiceNow reports a change of catalog item.</summary>
    public const string CatalogItemChange = "CatalogItem";

    /// <summary>The name a change of the reporter is reported under when a mapped field, not the reporter, says who the request is for.</summary>
    public const string ReporterChange = "Reporter";

    private readonly Dictionary<string, string> _byName;

    // Field id → the name a change to it is reported under: the normalised field it feeds, like ServiceNow's audit.
    private readonly Dictionary<string, string> _material = new(StringComparer.OrdinalIgnoreCase);

    public JiraFieldMap(JiraOptions options)
    {
        _byName = options.FieldMap
            .Where(p => RequestFields.IsKnown(CanonicalName(p.Key)) && !string.IsNullOrWhiteSpace(p.Value))
            .ToDictionary(p => CanonicalName(p.Key), p => p.Value.Trim(), StringComparer.Ordinal);
        // Only the entitlement, the target and the dates make an approval stale (MaterialFields), as in ServiceNow's audit.
        foreach (var name in MaterialFields.All)
        {
            if (_byName.TryGetValue(name, out var fieldId))
            {
                _material.TryAdd(fieldId, name);
            }
        }

        // The reporter is who the request is for unless a mapped field says otherwise.
        _material.TryAdd("reporter", _byName.ContainsKey(RequestFields.RequestedFor) ? ReporterChange : RequestFields.RequestedFor);
        if (options.RequestTypeField is { Length: > 0 } requestTypeField && FieldIdPattern().IsMatch(requestTypeField.Trim()))
        {
            _material.TryAdd(requestTypeField.Trim(), CatalogItemChange);
        }
    }

    /// <summary>Normalised name → Jira field id, for the mapped fields only.</summary>
    public IReadOnlyDictionary<string, string> Mapped => _byName;

    /// <summary>The field ids to ask the platform API for (mapped fields plus what every read needs).</summary>
    public IReadOnlyList<string> FieldsToRead()
    {
        var fields = new List<string>(_byName.Values);
        fields.AddRange(["creator", "reporter", "status", "summary", "created", "updated"]);
        return fields.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }

    public string? FieldIdFor(string normalisedName) => _byName.GetValueOrDefault(normalisedName);

    /// <summary>
    /// The name a changelog item (by its <c>fieldId</c>, or its <c>field</c> when the id is absent) is a material change
    /// of: the normalised request field it feeds (<see cref="RequestFields"/>), <see cref="CatalogItemChange"/> for the
    /// request type, <see cref="ReporterChange"/> for a reporter that is not the requested-for person; null when the
    /// item touches nothing the request is made of.
    /// </summary>
    public string? MaterialChangeOf(string? fieldId, string? field)
    {
        var id = fieldId is { Length: > 0 } ? fieldId : field;
        return id is { Length: > 0 } && _material.TryGetValue(id, out var name) ? name : null;
    }

    /// <summary>A Jira user object as the ticket system's person; null when it is not a user with an account id.</summary>
    public static ItsmPerson? ToPerson(JsonElement user)
    {
        if (user.ValueKind != JsonValueKind.Object || Str(user, "accountId") is not { Length: > 0 } accountId)
        {
            return null;
        }

        // Atlassian privacy settings hide the address: then it is absent (or empty), never guessed.
        var email = Str(user, "emailAddress");
        return new ItsmPerson(accountId, Str(user, "displayName"), string.IsNullOrWhiteSpace(email) ? null : email);
    }

    /// <summary>
    /// The value of a person field: a user, or a multi-user field holding exactly one user. Several users are not one
    /// person, so they give null (and the request is then incomplete rather than guessed).
    /// </summary>
    public static ItsmPerson? ToSinglePerson(JsonElement value, out bool several)
    {
        several = false;
        if (value.ValueKind == JsonValueKind.Array)
        {
            var people = value.EnumerateArray().Select(ToPerson).Where(p => p is not null).ToList();
            several = people.Count > 1;
            return people.Count == 1 ? people[0] : null;
        }

        return ToPerson(value);
    }

    /// <summary>The plain text of a field value: option values, names, users, arrays joined with ",", ADF flattened, dates normalised.</summary>
    public static string? ToText(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return NormaliseDate(value.GetString()!);
            case JsonValueKind.Number:
                return value.GetRawText();
            case JsonValueKind.True:
                return "true";
            case JsonValueKind.False:
                return "false";
            case JsonValueKind.Array:
                {
                    var parts = value.EnumerateArray().Select(ToText).Where(t => !string.IsNullOrEmpty(t)).ToList();
                    return parts.Count == 0 ? null : string.Join(",", parts);
                }

            case JsonValueKind.Object:
                return ObjectText(value);
            default:
                return null;
        }
    }

    /// <summary>ISO-8601 for dates and date-times: Jira's 2026-12-31T10:00:00.000+0000 becomes 2026-12-31T10:00:00.000+00:00.</summary>
    public static string NormaliseDate(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.Length is < 16 or > 40 || !JiraDateTimeShape().IsMatch(trimmed))
        {
            return text;
        }

        return TryParseTime(trimmed, out var at) ? at.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture) : text;
    }

    /// <summary>Parses Jira's date-time forms: 2026-12-31T10:00:00.000+0000, with a colon in the offset, with Z, with or without seconds and fraction.</summary>
    public static bool TryParseTime(string? text, out DateTimeOffset at)
    {
        at = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var value = OffsetWithoutColon().Replace(text.Trim(), "$1:$2");
        string[] formats = ["yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mmK"];
        return DateTimeOffset.TryParseExact(value, formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out at);
    }

    /// <summary>A JSM date object {iso8601, jira, friendly, epochMillis}: epochMillis is exact, the texts are fallbacks.</summary>
    public static DateTimeOffset? ParseServiceDeskDate(JsonElement date)
    {
        if (date.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (date.TryGetProperty("epochMillis", out var millis) && millis.ValueKind == JsonValueKind.Number && millis.TryGetInt64(out var ms)
            && ms is > 0 and < 253402300799999)
        {
            return DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }

        return TryParseTime(Str(date, "jira"), out var jira) ? jira
            : TryParseTime(Str(date, "iso8601"), out var iso) ? iso
            : null;
    }

    /// <summary>Plain text of an Atlassian Document Format document: text, mentions, cards and dates in reading order; blocks on their own lines.</summary>
    public static string FlattenAdf(JsonElement document)
    {
        var builder = new StringBuilder();
        AppendAdf(document, builder, depth: 0);
        return MultipleNewLines().Replace(builder.ToString(), "\n\n").Trim();
    }

    internal static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string? ObjectText(JsonElement value)
    {
        if (Str(value, "type") == "doc" && value.TryGetProperty("content", out _))
        {
            var text = FlattenAdf(value);
            return text.Length == 0 ? null : text;
        }

        // An option: {"value": "..."}, a cascading select adds {"child": {"value": "..."}}.
        if (Str(value, "value") is { } optionValue)
        {
            return value.TryGetProperty("child", out var child) && Str(child, "value") is { } childValue ? $"{optionValue} - {childValue}" : optionValue;
        }

        if (Str(value, "accountId") is { } accountId)
        {
            return Str(value, "displayName") ?? accountId;
        }

        // A JSM request type (customfield_10010) names itself inside "requestType".
        if (value.TryGetProperty("requestType", out var requestType) && Str(requestType, "name") is { } requestTypeName)
        {
            return requestTypeName;
        }

        foreach (var name in new[] { "name", "label", "key", "displayName", "id" })
        {
            if (Str(value, name) is { } text)
            {
                return text;
            }
        }

        return null;
    }

    private static void AppendAdf(JsonElement node, StringBuilder builder, int depth)
    {
        if (depth > 64 || node.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        var type = Str(node, "type");
        var attrs = node.TryGetProperty("attrs", out var a) && a.ValueKind == JsonValueKind.Object ? a : default;
        switch (type)
        {
            case "text":
                builder.Append(Str(node, "text"));
                return;
            case "hardBreak":
                builder.Append('\n');
                return;
            case "mention" or "status":
                builder.Append(Str(attrs, "text"));
                return;
            case "emoji":
                builder.Append(Str(attrs, "text") ?? Str(attrs, "shortName"));
                return;
            case "inlineCard" or "blockCard" or "embedCard":
                builder.Append(Str(attrs, "url"));
                return;
            case "date":
                if (long.TryParse(Str(attrs, "timestamp"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) && ms is > 0 and < 253402300799999)
                {
                    builder.Append(DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                }

                return;
        }

        if (node.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
        {
            foreach (var child in content.EnumerateArray())
            {
                AppendAdf(child, builder, depth + 1);
            }
        }

        if (type is not (null or "doc") && IsBlock(type))
        {
            builder.Append('\n');
        }
    }

    private static bool IsBlock(string type) => type is "paragraph" or "heading" or "blockquote" or "codeBlock" or "listItem" or "bulletList"
        or "orderedList" or "panel" or "rule" or "tableRow" or "tableCell" or "tableHeader" or "table" or "mediaSingle" or "expand" or "decisionItem" or "taskItem";

    /// <summary>Normalised names are case-insensitive in configuration; the core uses the canonical spelling.</summary>
    private static string CanonicalName(string name) =>
        RequestFields.All.FirstOrDefault(f => string.Equals(f, name, StringComparison.OrdinalIgnoreCase)) ?? name;

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex JiraDateTimeShape();

    [GeneratedRegex(@"([+-]\d{2})(\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex OffsetWithoutColon();

    [GeneratedRegex(@"\n{3,}", RegexOptions.CultureInvariant)]
    private static partial Regex MultipleNewLines();

    [GeneratedRegex("^(customfield_[0-9]{1,12}|[a-z][A-Za-z0-9_]{0,63})$", RegexOptions.CultureInvariant)]
    private static partial Regex FieldIdPattern();
}
