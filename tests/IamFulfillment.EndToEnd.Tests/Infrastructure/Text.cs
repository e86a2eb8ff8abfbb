using Xunit.Sdk;

namespace IamFulfillment.EndToEnd.Tests.Infrastructure;

/// <summary>Assertions on write-back text that show the whole text when they fail (xunit cuts long strings short).</summary>
public static class Text
{
    public static void Contains(string expected, string? actual)
    {
        if (actual is null || !actual.Contains(expected, StringComparison.Ordinal))
        {
            throw new XunitException($"Expected the text to contain:\n  {expected}\nThe whole text:\n{actual ?? "(null)"}");
        }
    }

    public static void DoesNotContain(string unexpected, string? actual)
    {
        if (actual is not null && actual.Contains(unexpected, StringComparison.Ordinal))
        {
            throw new XunitException($"Expected the text not to contain:\n  {unexpected}\nThe whole text:\n{actual}");
        }
    }
}
