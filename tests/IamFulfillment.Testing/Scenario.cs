using IamFulfillment.Sandbox.Demo;

namespace IamFulfillment.Testing;

/// <summary>A fresh sandbox world with a host against it, for one test: tests never see each other's tickets or directory changes.</summary>
public sealed class Scenario : IAsyncDisposable
{
    private Scenario(SandboxWorld world, HostUnderTest host)
    {
        World = world;
        Host = host;
    }

    public SandboxWorld World { get; }
    public HostUnderTest Host { get; }
    public DemoOrganisation Demo => World.Demo;

    public static async Task<Scenario> StartAsync(Action<Dictionary<string, string?>>? configure = null, string? policyPath = null, SandboxWorldOptions? options = null)
    {
        await TestStorage.EnsureSharedAsync();
        var world = await SandboxWorld.StartAsync(options);
        var host = await HostUnderTest.StartAsync(world, configure, policyPath);
        return new Scenario(world, host);
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await World.DisposeAsync();
    }
}
