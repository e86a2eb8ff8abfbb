using System.Globalization;
using System.Text;

namespace IamFulfillment.Connectors.Graph;

/// <summary>
/// The plain-text mail that carries a Temporary Access Pass to the verified manager. It is built in memory for one
/// <c>sendMail</c> call and never logged. The person's name comes from the ticket, so it is flattened to one line of
/// printable text: it cannot add lines (fake instructions) to the mail.
/// </summary>
internal static class TemporaryAccessPassMail
{
    public static string Subject(string targetName) => $"Temporary Access Pass for {OneLine(targetName)}";

    public static string Body(string targetName, string pass, DateTimeOffset expiresAt, int lifetimeMinutes)
    {
        var name = OneLine(targetName);
        var expires = expiresAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        var text = new StringBuilder();
        text.AppendLine("Hello,");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"The service desk has verified the identity of {name}, who reports you as their manager, and has reset their multi-factor sign-in methods.");
        text.AppendLine("Below is a Temporary Access Pass they can sign in with once, to register new methods.");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"    Temporary Access Pass: {pass}");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"- It works once and expires at {expires} ({lifetimeMinutes} minutes after it was issued).");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Give it to {name} in person, or read it out on a call where you recognise them.");
        text.AppendLine("- Do not forward this mail, and do not send the pass by chat, text message or mail.");
        text.AppendLine("- If you did not expect this, do not hand the pass over; contact the service desk.");
        text.AppendLine();
        text.AppendLine("This message was sent automatically; replies are not read.");
        return text.ToString();
    }

    /// <summary>Printable characters only, whitespace collapsed, at most 100 characters.</summary>
    internal static string OneLine(string text)
    {
        var result = new StringBuilder(Math.Min(text.Length, 100));
        var space = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || char.GetUnicodeCategory(c) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                space = result.Length > 0;
                continue;
            }

            if (space)
            {
                result.Append(' ');
                space = false;
            }

            result.Append(c);
            if (result.Length >= 100)
            {
                break;
            }
        }

        return result.Length == 0 ? "the person" : result.ToString();
    }
}
