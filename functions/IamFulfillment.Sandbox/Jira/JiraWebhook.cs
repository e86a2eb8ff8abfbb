using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace IamFulfillment.Sandbox.Jira;

/// <summary>One webhook delivery exactly as Jira sends it: the raw body bytes and the headers.</summary>
public sealed record JiraWebhookDelivery(byte[] Body, IReadOnlyDictionary<string, string> Headers)
{
    public string Identifier => Headers[JiraSandbox.WebhookIdentifierHeader];

    public string BodyText => Encoding.UTF8.GetString(Body);
}

public sealed partial class JiraSandbox
{
    public const string WebhookSignatureHeader = "X-Hub-Signature";
    public const string WebhookIdentifierHeader = "X-Atlassian-Webhook-Identifier";
    public const string WebhookRetryHeader = "X-Atlassian-Webhook-Retry";
    public const string WebhookFlowHeader = "X-Atlassian-Webhook-Flow";

    private long _nextDelivery;

    /// <summary>
    /// Builds the delivery an admin webhook registered with <see cref="JiraSandboxOptions.WebhookSecret"/> would send for
    /// the issue now: <c>{timestamp, webhookEvent, issue_event_type_name, user, issue, changelog}</c>, where <c>user</c>
    /// is the person who last changed the issue (without e-mail, as Jira sends it), <c>issue</c> has the REST v2 shape
    /// including the request type field, and <c>changelog</c> (on updates) is the last change. Signed
    /// <c>X-Hub-Signature: sha256=&lt;hex&gt;</c>; a <paramref name="retry"/> count adds <c>X-Atlassian-Webhook-Retry</c>,
    /// and passing the first delivery's <paramref name="identifier"/> makes it the same delivery sent again.
    /// </summary>
    public JiraWebhookDelivery BuildWebhook(string issueKey, string webhookEvent = "jira:issue_updated", string? identifier = null, int? retry = null)
    {
        byte[] body;
        lock (_gate)
        {
            var issue = Issue(issueKey);
            var actor = _users.TryGetValue(issue.LastActorId, out var a) ? a : _users[issue.CreatorId];
            var payload = new JsonObject
            {
                ["timestamp"] = Time.GetUtcNow().ToUnixTimeMilliseconds(),
                ["webhookEvent"] = webhookEvent,
                ["issue_event_type_name"] = webhookEvent == "jira:issue_created" ? "issue_created" : issue.LastEventType,
                ["user"] = WebhookUser(actor),
                ["issue"] = IssueJson(issue, [], [], "2") is var json ? WebhookIssue(json) : null,
            };
            if (webhookEvent == "jira:issue_updated" && issue.Histories.Count > 0 && issue.LastEventType != "issue_commented")
            {
                var last = issue.Histories[^1];
                payload["changelog"] = new JsonObject
                {
                    ["id"] = last.Id,
                    ["items"] = History(last)["items"]!.DeepClone(),
                };
            }

            if (webhookEvent == "jira:issue_updated" && issue.LastEventType == "issue_commented" && issue.Comments.Count > 0)
            {
                var comment = issue.Comments[^1];
                payload["comment"] = new JsonObject
                {
                    ["self"] = $"{Url}/rest/api/2/issue/{issue.Id}/comment/{comment.Id}",
                    ["id"] = comment.Id,
                    ["author"] = WebhookUser(_users[comment.AuthorId]),
                    ["body"] = comment.Body,
                    ["created"] = JiraTime(comment.Created),
                    ["updated"] = JiraTime(comment.Created),
                    ["jsdPublic"] = comment.Public,
                };
            }

            body = Encoding.UTF8.GetBytes(payload.ToJsonString());
        }

        var id = identifier ?? $"{Interlocked.Increment(ref _nextDelivery).ToString(CultureInfo.InvariantCulture)}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}";
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Content-Type"] = "application/json",
            [WebhookSignatureHeader] = Sign(Options.WebhookSecret, body),
            [WebhookIdentifierHeader] = id,
            [WebhookFlowHeader] = "Primary",
            ["User-Agent"] = "Atlassian Webhook HTTP Client",
        };
        if (retry is { } count)
        {
            headers[WebhookRetryHeader] = count.ToString(CultureInfo.InvariantCulture);
        }

        return new JiraWebhookDelivery(body, headers);
    }

    /// <summary>The admin-webhook signature: <c>sha256=</c> and the lower-case hex HMAC-SHA256 of the raw body, keyed with the secret's UTF-8 bytes.</summary>
    public static string Sign(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>Webhook users carry no e-mail (nor locale, groups or application roles).</summary>
    private JsonObject WebhookUser(JiraUser user) => new()
    {
        ["self"] = $"{Url}/rest/api/2/user?accountId={user.AccountId}",
        ["accountId"] = user.AccountId,
        ["avatarUrls"] = Avatars(user),
        ["displayName"] = user.DisplayName,
        ["active"] = user.Active,
        ["timeZone"] = user.TimeZone,
        ["accountType"] = user.AccountType,
    };

    /// <summary>The issue as a webhook carries it: the REST v2 shape without expansions.</summary>
    private static JsonObject WebhookIssue(JsonObject issue) => new()
    {
        ["id"] = issue["id"]!.DeepClone(),
        ["self"] = issue["self"]!.DeepClone(),
        ["key"] = issue["key"]!.DeepClone(),
        ["fields"] = issue["fields"]!.DeepClone(),
    };
}
