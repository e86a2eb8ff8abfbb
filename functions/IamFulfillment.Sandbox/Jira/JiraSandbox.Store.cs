using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace IamFulfillment.Sandbox.Jira;

/// <summary>State changes shared by the HTTP API and the seeding API; callers hold the lock.</summary>
public sealed partial class JiraSandbox
{
    private const string CannotSet = "Field '{0}' cannot be set. It is not on the appropriate screen, or unknown.";

    /// <summary>Edits fields as <paramref name="actorId"/>: all or nothing, one changelog history for what changed. Returns field errors.</summary>
    private Dictionary<string, string> EditCore(JiraIssue issue, JsonObject input, string actorId, DateTimeOffset at)
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        var updates = new List<(string FieldId, JsonNode? Value)>();
        string? newReporter = null;
        foreach (var (fieldId, value) in input)
        {
            if (fieldId == "reporter")
            {
                var accountId = value is JsonObject o ? o["accountId"]?.GetValue<string>() : value?.GetValue<string>();
                if (accountId is null || !_users.ContainsKey(accountId))
                {
                    errors[fieldId] = "Specify a valid value for reporter";
                }
                else
                {
                    newReporter = accountId;
                }

                continue;
            }

            if (!_fields.TryGetValue(fieldId, out var definition))
            {
                errors[fieldId] = string.Format(CultureInfo.InvariantCulture, CannotSet, fieldId);
                continue;
            }

            var stored = StoreValue(definition, value, out var error);
            if (error is not null)
            {
                errors[fieldId] = error;
            }
            else
            {
                updates.Add((fieldId, stored));
            }
        }

        if (errors.Count > 0)
        {
            return errors;
        }

        var history = new JiraHistory { Id = NextId(), AuthorId = actorId, Created = at };
        if (newReporter is not null && newReporter != issue.ReporterId)
        {
            history.Items.Add(new JiraChangeItem("reporter", "jira", "reporter", issue.ReporterId, _users[issue.ReporterId].DisplayName, newReporter, _users[newReporter].DisplayName));
            issue.ReporterId = newReporter;
        }

        foreach (var (fieldId, value) in updates)
        {
            var definition = _fields[fieldId];
            var old = fieldId == "summary" ? JsonValue.Create(issue.Summary) : issue.Fields.GetValueOrDefault(fieldId);
            if (JsonNode.DeepEquals(old, value))
            {
                continue;
            }

            var (fromRaw, fromText) = ChangeStrings(definition, old);
            var (toRaw, toText) = ChangeStrings(definition, value);
            history.Items.Add(new JiraChangeItem(definition.IsCustom ? definition.Name : definition.Id, definition.IsCustom ? "custom" : "jira", definition.Id, fromRaw, fromText, toRaw, toText));
            if (fieldId == "summary")
            {
                issue.Summary = value?.GetValue<string>() ?? string.Empty;
            }
            else
            {
                issue.Fields[fieldId] = value;
            }
        }

        if (history.Items.Count > 0)
        {
            issue.Histories.Add(history);
            Touch(issue, actorId, at, "issue_updated");
        }

        return errors;
    }

    private void ApplyTransition(JiraIssue issue, JiraWorkflowTransition transition, string actorId, DateTimeOffset at)
    {
        var from = StatusNamed(issue.Status);
        var to = StatusNamed(transition.To);
        var history = new JiraHistory { Id = NextId(), AuthorId = actorId, Created = at };
        history.Items.Add(new JiraChangeItem("status", "jira", "status", from.Id, from.Name, to.Id, to.Name));
        issue.Histories.Add(history);
        issue.Status = to.Name;
        issue.StatusDate = at;
        Touch(issue, actorId, at, "issue_generic");
    }

    /// <summary>An approver's decision; null when taken, else why not.</summary>
    private string? DecideCore(JiraIssue issue, string approvalId, string approverId, bool approve, DateTimeOffset at)
    {
        var approval = issue.Approvals.FirstOrDefault(a => a.Id == approvalId);
        if (approval is null)
        {
            return $"Approval {approvalId} does not exist on {issue.Key}.";
        }

        var index = approval.Approvers.FindIndex(a => a.Key == approverId);
        if (index < 0)
        {
            return "The user is not an approver of this approval.";
        }

        if (approval.FinalDecision != "pending" || approval.Approvers[index].Value != "pending")
        {
            return "This approval has already been answered.";
        }

        approval.Approvers[index] = new KeyValuePair<string, string>(approverId, approve ? "approved" : "declined");
        var final = approval.FinalDecision;
        if (final == "pending")
        {
            Touch(issue, approverId, at, "issue_generic");
            return null;
        }

        approval.Completed = at;
        if (string.Equals(issue.Status, ApprovalStatus, StringComparison.OrdinalIgnoreCase))
        {
            var target = final == "approved" ? StatusAfterApproval : StatusAfterDecline;
            ApplyTransition(issue, new JiraWorkflowTransition { Id = "0", Name = final, To = target }, approverId, at);
        }
        else
        {
            Touch(issue, approverId, at, "issue_generic");
        }

        return null;
    }

    private JiraComment AddCommentCore(JiraIssue issue, string authorId, string body, bool isPublic, DateTimeOffset at)
    {
        _ = _users[authorId];
        var comment = new JiraComment { Id = NextId(), AuthorId = authorId, Body = body, Public = isPublic, Created = at };
        issue.Comments.Add(comment);
        Touch(issue, authorId, at, "issue_commented");
        return comment;
    }

    private static void Touch(JiraIssue issue, string actorId, DateTimeOffset at, string eventType)
    {
        if (at > issue.Updated)
        {
            issue.Updated = at;
        }

        issue.LastActorId = actorId;
        issue.LastEventType = eventType;
    }

    /// <summary>An input value (the REST edit shape) in the stored form; <paramref name="error"/> says why it is refused.</summary>
    private JsonNode? StoreValue(JiraFieldDefinition definition, JsonNode? input, out string? error)
    {
        error = null;
        if (input is null)
        {
            return null;
        }

        switch (definition.Kind)
        {
            case JiraFieldKind.Text:
                return input is JsonValue v && v.TryGetValue<string>(out var text) ? JsonValue.Create(text) : Refuse(out error, definition, "a string");
            case JiraFieldKind.Number:
                return input is JsonValue n && n.TryGetValue<double>(out var number) ? JsonValue.Create(number) : Refuse(out error, definition, "a number");
            case JiraFieldKind.Paragraph:
                return input switch
                {
                    JsonValue p when p.TryGetValue<string>(out var plain) => JsonValue.Create(plain),
                    JsonObject doc when doc["type"]?.GetValue<string>() == "doc" => JsonValue.Create(AdfText(doc)),
                    _ => Refuse(out error, definition, "text or an ADF document"),
                };
            case JiraFieldKind.Select:
                return OptionValue(input) is { } option ? JsonValue.Create(option) : Refuse(out error, definition, "an option {\"value\": ...}");
            case JiraFieldKind.MultiSelect:
                {
                    if (input is not JsonArray options)
                    {
                        return Refuse(out error, definition, "an array of options");
                    }

                    var values = options.Select(OptionValue).ToList();
                    return values.Any(o => o is null) ? Refuse(out error, definition, "an array of options") : new JsonArray(values.Select(o => (JsonNode?)JsonValue.Create(o)).ToArray());
                }

            case JiraFieldKind.User:
                return UserId(input) is { } accountId ? JsonValue.Create(accountId) : Refuse(out error, definition, "a user {\"accountId\": ...}");
            case JiraFieldKind.MultiUser:
                {
                    if (input is not JsonArray users)
                    {
                        return Refuse(out error, definition, "an array of users");
                    }

                    var ids = users.Select(UserId).ToList();
                    return ids.Any(i => i is null) ? Refuse(out error, definition, "an array of users") : new JsonArray(ids.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray());
                }

            case JiraFieldKind.Date:
                return input is JsonValue d && d.TryGetValue<string>(out var date)
                       && DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _)
                    ? JsonValue.Create(date)
                    : Refuse(out error, definition, "a date yyyy-MM-dd");
            case JiraFieldKind.DateTime:
                return input is JsonValue t && t.TryGetValue<string>(out var dateTime) && TryParseTime(dateTime, out var at)
                    ? JsonValue.Create(at.ToString("O", CultureInfo.InvariantCulture))
                    : Refuse(out error, definition, "a date-time such as 2026-12-31T10:00:00.000+0000");
            case JiraFieldKind.Labels:
                return input is JsonArray labels && labels.All(l => l is JsonValue lv && lv.TryGetValue<string>(out var s) && !s.Contains(' ', StringComparison.Ordinal))
                    ? labels.DeepClone()
                    : Refuse(out error, definition, "an array of labels without spaces");
            default:
                return Refuse(out error, definition, "a supported value");
        }
    }

    private string? UserId(JsonNode? node)
    {
        var id = node switch
        {
            JsonObject o => o["accountId"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            _ => null,
        };
        return id is not null && _users.ContainsKey(id) ? id : null;
    }

    private static string? OptionValue(JsonNode? node) => node switch
    {
        JsonObject o when o["value"] is JsonValue v && v.TryGetValue<string>(out var s) => s,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => null,
    };

    private static JsonNode? Refuse(out string? error, JiraFieldDefinition definition, string expected)
    {
        error = $"Field '{definition.Id}' expects {expected}.";
        return null;
    }

    /// <summary>The <c>from</c>/<c>fromString</c> pair a changelog item shows for a stored value.</summary>
    private (string? Raw, string? Text) ChangeStrings(JiraFieldDefinition definition, JsonNode? stored)
    {
        if (stored is null)
        {
            return (null, null);
        }

        switch (definition.Kind)
        {
            case JiraFieldKind.User:
                {
                    var id = stored.GetValue<string>();
                    return (id, _users.TryGetValue(id, out var u) ? u.DisplayName : id);
                }

            case JiraFieldKind.MultiUser:
                {
                    var ids = stored.AsArray().Select(n => n!.GetValue<string>()).ToList();
                    return (string.Join(", ", ids), "[" + string.Join(", ", ids.Select(i => _users.TryGetValue(i, out var u) ? u.DisplayName : i)) + "]");
                }

            case JiraFieldKind.MultiSelect:
                {
                    var texts = stored.AsArray().Select(n => n!.GetValue<string>()).ToList();
                    return (null, string.Join(",", texts));
                }

            case JiraFieldKind.Labels:
                {
                    var texts = stored.AsArray().Select(n => n!.GetValue<string>()).ToList();
                    return (null, string.Join(" ", texts));
                }

            case JiraFieldKind.Date:
                {
                    var date = stored.GetValue<string>();
                    return (date, date);
                }

            case JiraFieldKind.DateTime:
                {
                    var at = DateTimeOffset.ParseExact(stored.GetValue<string>(), "O", CultureInfo.InvariantCulture);
                    return (JiraTime(at), JiraTime(at));
                }

            case JiraFieldKind.Number:
                return (null, stored.ToJsonString());
            default:
                return (null, stored.GetValue<string>());
        }
    }

    /// <summary>Jira's date-time forms: 2026-12-31T10:00:00.000+0000, with a colon in the offset, or with Z.</summary>
    private static bool TryParseTime(string text, out DateTimeOffset at)
    {
        var value = text.Trim();
        if (value.Length > 5 && (value[^5] == '+' || value[^5] == '-') && value[^3] != ':')
        {
            value = value[..^2] + ":" + value[^2..];
        }

        string[] formats = ["yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mmK"];
        return DateTimeOffset.TryParseExact(value, formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out at);
    }

    /// <summary>The text of an ADF document: paragraphs on their own lines.</summary>
    private static string AdfText(JsonNode node)
    {
        var builder = new StringBuilder();
        Walk(node, 0);
        return builder.ToString().Trim();

        void Walk(JsonNode? current, int depth)
        {
            if (current is not JsonObject o || depth > 32)
            {
                return;
            }

            var type = o["type"]?.GetValue<string>();
            if (type == "text")
            {
                builder.Append(o["text"]?.GetValue<string>());
                return;
            }

            if (type == "hardBreak")
            {
                builder.Append('\n');
                return;
            }

            if (o["content"] is JsonArray content)
            {
                foreach (var child in content)
                {
                    Walk(child, depth + 1);
                }
            }

            if (type is "paragraph" or "heading" or "listItem")
            {
                builder.Append('\n');
            }
        }
    }

    private static bool IsJsonObject(string? body, out JsonObject? value)
    {
        value = null;
        if (string.IsNullOrWhiteSpace(body))
        {
            return false;
        }

        try
        {
            value = JsonNode.Parse(body) as JsonObject;
            return value is not null;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
