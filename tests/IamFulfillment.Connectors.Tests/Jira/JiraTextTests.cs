using System.Text.Json;
using IamFulfillment.Connectors.Jira;
using IamFulfillment.Core.Text;

namespace IamFulfillment.Connectors.Tests.Jira;

public sealed class JiraTextTests
{
    private const string Marker = "[iamf:r0123456789abcdef0123:fulfilled]";

    [Fact]
    public void CommentBody_EndsWithTheMarkerOnItsOwnLine()
    {
        var body = JiraTicketSystem.CommentBody("Access granted.\n\n", Marker);

        Assert.Equal("Access granted.\n" + Markup.ForJiraWiki(Marker), body);
        Assert.Equal("\\[iamf:r0123456789abcdef0123:fulfilled\\]", body.Split('\n')[^1]);
    }

    [Theory]
    [InlineData('-')]
    [InlineData('a')]
    public void CommentBody_OverlongText_IsShortenedWithoutBreakingAnEscapeAndKeepsTheMarker(char fill)
    {
        var body = JiraTicketSystem.CommentBody(new string(fill, 40_000), Marker);

        Assert.True(body.Length <= 32_000, $"{body.Length} characters");
        Assert.EndsWith("…\n" + Markup.ForJiraWiki(Marker), body, StringComparison.Ordinal);
        var text = body[..body.IndexOf('…', StringComparison.Ordinal)];
        var trailingBackslashes = text.Length - text.TrimEnd('\\').Length;
        Assert.Equal(0, trailingBackslashes % 2);
    }

    [Fact]
    public void NoteRecord_WrittenIntoTheBody_IsReadBackFromTheLineAboveTheMarker()
    {
        var record = new JiraNoteRecord(CustomerComment: true, TargetStatus: "Done - [archived], \"old\"", EarlierMoves: 2, QueueFields: true);

        var body = JiraTicketSystem.CommentBody("Escalated.\nSent with this note: nothing.", Marker, record);

        Assert.Equal(record, JiraTicketSystem.RecordIn(body, Marker));
        Assert.Equal(Markup.ForJiraWiki(Marker), body.Split('\n')[^1]);
    }

    [Theory]
    [InlineData("Sent with this note: the transition to \"Resolved\".", false, "Resolved", null, false)]
    [InlineData("Sent with this note: the customer comment.", true, null, null, false)]
    [InlineData("Sent with this note: the queue fields.", false, null, null, true)]
    [InlineData("Sent with this note: the customer comment, the transition to \"Resolved\" \\(earlier moves there by the service: 1\\).", true, "Resolved", 1, false)]
    public void NoteRecord_Parse_ReadsEachPart(string line, bool comment, string? status, int? earlier, bool fields) =>
        Assert.Equal(new JiraNoteRecord(comment, status, earlier, fields), JiraNoteRecord.Parse(line));

    [Theory]
    [InlineData("Sent with this note: the customer comment")]
    [InlineData("Sent with this note: a cake.")]
    [InlineData("Sent with this note: .")]
    public void NoteRecord_LineThatStartsLikeOneButCannotBeRead_IsUnreadable(string line) =>
        Assert.False(JiraNoteRecord.Parse(line)!.IsReadable);

    [Fact]
    public void NoteRecord_NoteWrittenWithoutOne_HasNone() =>
        Assert.Null(JiraTicketSystem.RecordIn(JiraTicketSystem.CommentBody("Added to grp-finance-read.", Marker), Marker));

    [Theory]
    [InlineData("""{"value":"IAM privileged"}""", """{"value":"IAM privileged"}""")]
    [InlineData("""["iam-escalated","tier-0"]""", """["iam-escalated","tier-0"]""")]
    [InlineData("IAM privileged", "\"IAM privileged\"")]
    [InlineData("{not json", "\"{not json\"")]
    [InlineData("42", "\"42\"")]
    public void FieldValue_JsonObjectsAndArraysAsIs_OtherwiseText(string configured, string json) =>
        Assert.Equal(json, JiraTicketSystem.FieldValue(configured)!.ToJsonString());

    [Theory]
    [InlineData("HR-12", true)]
    [InlineData("IAM_OPS-1", true)]
    [InlineData("A1-99999", true)]
    [InlineData("hr-12", false)]
    [InlineData("HR-", false)]
    [InlineData("H-1", false)]
    [InlineData("HR-12?x=1", false)]
    [InlineData("", false)]
    public void IssueKey_OnlyJiraKeysPass(string key, bool valid) => Assert.Equal(valid, JiraTicketSystem.IsIssueKey(key));

    [Theory]
    [InlineData("""{"epochMillis":1795254000000,"jira":"2026-11-21T10:40:00.000+0100"}""", "2026-11-21T09:40:00.0000000+00:00")]
    [InlineData("""{"jira":"2026-11-21T10:40:00.000+0100","friendly":"Today 10:40"}""", "2026-11-21T10:40:00.0000000+01:00")]
    [InlineData("""{"iso8601":"2026-11-21T09:40:00+0000"}""", "2026-11-21T09:40:00.0000000+00:00")]
    public void ServiceDeskDate_PrefersEpochMillisThenTheJiraText(string json, string expected)
    {
        using var document = JsonDocument.Parse(json);

        Assert.Equal(expected, JiraFieldMap.ParseServiceDeskDate(document.RootElement)!.Value.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
    }
}
