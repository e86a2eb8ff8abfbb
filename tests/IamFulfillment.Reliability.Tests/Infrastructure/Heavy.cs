namespace IamFulfillment.Reliability.Tests.Infrastructure;

/// <summary>
/// <c>IAMF_HEAVY=1</c> scales the suites up (more tickets, more kill runs, more hostile bodies, a bigger burst);
/// without it the counts keep <c>.ci/run</c> within a few minutes on a two-core machine.
/// </summary>
public static class Heavy
{
    public static bool On => Environment.GetEnvironmentVariable("IAMF_HEAVY") is "1" or "true";

    public static int Scale(int normal, int heavy) => On ? heavy : normal;
}
