using IamFulfillment.Core.Text;

namespace IamFulfillment.Core.Tests.Text;

public sealed class MarkupTests
{
    [Fact]
    public void ServiceNow_CodeTagWithLink_IsDefusedAndNoHtmlSurvives()
    {
        var text = Markup.ForServiceNowJournal("""Please [code]<a href="https://evil.example/login">re-enter your password</a>[/code] thanks""");
        Assert.Equal("""Please (code)‹a href="https://evil.example/login"›re-enter your password‹/a›(/code) thanks""", text);
    }

    [Theory]
    [InlineData("[CODE]<b>x</b>[/CODE]")]
    [InlineData("[ code ]<img src=x onerror=alert(1)>[ / code ]")]
    [InlineData("[Code]<script>alert(1)</script>")]
    public void ServiceNow_AnySpellingOfTheCodeTag_IsDefused(string input)
    {
        var text = Markup.ForServiceNowJournal(input);
        Assert.DoesNotMatch("(?i)\\[\\s*/?\\s*code\\s*\\]", text);
        Assert.DoesNotContain('<', text);
        Assert.DoesNotContain('>', text);
    }

    [Fact]
    public void ServiceNow_PlainText_IsUnchanged() =>
        Assert.Equal("Alice needs CRM access (renewals, Q1) - thanks!", Markup.ForServiceNowJournal("Alice needs CRM access (renewals, Q1) - thanks!"));

    [Fact]
    public void Jira_WikiLink_IsEscapedAndMakesNoLink()
    {
        var text = Markup.ForJiraWiki("[Click here|https://evil.example/login]");
        Assert.Equal("\\[Click here\\|https\u200B://evil.example/login\\]", text);
    }

    [Theory]
    [InlineData("see https://evil.example/x", "https\u200B://")]
    [InlineData("ftp://files.example", "ftp\u200B://")]
    [InlineData("file://///server/share", "file\u200B://")]
    public void Jira_BareUrl_IsBroken(string input, string expected)
    {
        var text = Markup.ForJiraWiki(input);
        Assert.Contains(expected, text, StringComparison.Ordinal);
        Assert.DoesNotMatch("[a-z]://", text);
    }

    [Theory]
    [InlineData("*bold*", "\\*bold\\*")]
    [InlineData("_italic_", "\\_italic\\_")]
    [InlineData("{color:red}alert{color}", "\\{color:red\\}alert\\{color\\}")]
    [InlineData("{html}<b>x</b>{html}", "\\{html\\}<b>x</b>\\{html\\}")]
    [InlineData("!https://evil.example/pixel.png!", "\\!https\u200B://evil.example/pixel.png\\!")]
    [InlineData("[~accountid:5b10ac8d82e05b22cc7d4ef5]", "\\[\\~accountid:5b10ac8d82e05b22cc7d4ef5\\]")]
    [InlineData("||head||\n|cell|", "\\|\\|head\\|\\|\n\\|cell\\|")]
    [InlineData("----", "\\-\\-\\-\\-")]
    [InlineData("# one\n* two", "\\# one\n\\* two")]
    [InlineData("back\\slash", "back\\\\slash")]
    public void Jira_WikiMarkup_IsEscaped(string input, string expected) =>
        Assert.Equal(expected, Markup.ForJiraWiki(input));

    [Theory]
    [InlineData("h1. Approved by the CISO", "\u200Bh1. Approved by the CISO")]
    [InlineData("fine\nh3. Urgent", "fine\n\u200Bh3. Urgent")]
    [InlineData("bq. quoted", "\u200Bbq. quoted")]
    [InlineData("  h2. indented", "  \u200Bh2. indented")]
    public void Jira_LineStartBlockMarkup_DoesNotRender(string input, string expected) =>
        Assert.Equal(expected, Markup.ForJiraWiki(input));

    [Fact]
    public void Jira_TextThatOnlyLooksLikeAHeading_IsUnchanged() =>
        Assert.Equal("The h1. tag and bq. are fine in a line", Markup.ForJiraWiki("The h1. tag and bq. are fine in a line"));

    [Fact]
    public void Clean_RemovesControlCharactersButKeepsNewLinesAndTabs() =>
        Assert.Equal("a\tb\nc", Markup.Clean("a\tb\u0007\n\u001bc\r"));

    [Fact]
    public void Clean_CapsTheLength() =>
        Assert.Equal(new string('x', 10) + "…", Markup.Clean(new string('x', 50), 10));

    [Fact]
    public void Clean_Nothing_IsEmpty()
    {
        Assert.Equal("", Markup.Clean(null));
        Assert.Equal("", Markup.Clean(""));
    }
}
