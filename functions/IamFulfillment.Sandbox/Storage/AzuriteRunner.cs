using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace IamFulfillment.Sandbox.Storage;

/// <summary>
/// Starts the Azurite storage emulator from the repository's pinned npm package (installing it with <c>npm ci</c>
/// when it is missing) on free loopback ports, and stops it again. With <see cref="SharedConnectionStringVariable"/>
/// set, an already-running Azurite is used instead.
/// </summary>
public sealed class AzuriteRunner : IAsyncDisposable
{
    /// <summary>Environment variable naming an Azurite (or storage account) connection string to use instead of starting one.</summary>
    public const string SharedConnectionStringVariable = "IAMF_TEST_STORAGE";

    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly SemaphoreSlim InstallLock = new(1, 1);
    private Process? _process;
    private readonly string? _location;

    private AzuriteRunner(string connectionString, int blobPort, int queuePort, int tablePort, string? location)
    {
        ConnectionString = connectionString;
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
        _location = location;
    }

    public string ConnectionString { get; }
    public int BlobPort { get; }
    public int QueuePort { get; }
    public int TablePort { get; }
    public bool IsShared => _process is null && _location is null;

    public static string BuildConnectionString(int blobPort, int queuePort, int tablePort) =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{blobPort}/{AccountName};QueueEndpoint=http://127.0.0.1:{queuePort}/{AccountName};" +
        $"TableEndpoint=http://127.0.0.1:{tablePort}/{AccountName};";

    /// <summary>
    /// Uses the shared Azurite if the environment names one; otherwise one Azurite started for this whole process
    /// (stopped when the process exits), so a test run pays its start-up once.
    /// </summary>
    public static async Task<AzuriteRunner> StartOrShareAsync(CancellationToken cancellationToken = default)
    {
        var shared = Environment.GetEnvironmentVariable(SharedConnectionStringVariable);
        if (!string.IsNullOrWhiteSpace(shared))
        {
            return new AzuriteRunner(shared == "UseDevelopmentStorage=true" ? BuildConnectionString(10000, 10001, 10002) : shared, 0, 0, 0, null);
        }

        var processWide = await ProcessWide.Value;
        return new AzuriteRunner(processWide.ConnectionString, processWide.BlobPort, processWide.QueuePort, processWide.TablePort, null);
    }

    private static readonly Lazy<Task<AzuriteRunner>> ProcessWide = new(async () =>
    {
        var runner = await StartAsync(persistent: false);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => runner.StopAsync().GetAwaiter().GetResult();
        return runner;
    });

    /// <summary>Starts a private Azurite on free ports; <paramref name="persistent"/> keeps data on disk across <see cref="RestartAsync"/>.</summary>
    public static async Task<AzuriteRunner> StartAsync(bool persistent = false, CancellationToken cancellationToken = default)
    {
        var location = persistent ? Directory.CreateTempSubdirectory("iamf-azurite-").FullName : null;
        var (blob, queue, table) = (FreePort(), FreePort(), FreePort());
        var runner = new AzuriteRunner(BuildConnectionString(blob, queue, table), blob, queue, table, location);
        await runner.LaunchAsync(cancellationToken);
        return runner;
    }

    /// <summary>
    /// Stops the emulator (intake must answer 503 meanwhile) without deleting its data. <paramref name="graceful"/>
    /// sends SIGTERM first so a persistent Azurite saves what it holds (killed outright, it loses its last seconds of
    /// writes, tables and queues included — which no real storage account does).
    /// </summary>
    public async Task StopAsync(bool graceful = false)
    {
        if (_process is { HasExited: false } process)
        {
            if (graceful && !OperatingSystem.IsWindows())
            {
                using var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                await term.WaitForExitAsync();
                using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try
                {
                    await process.WaitForExitAsync(patience.Token);
                }
                catch (OperationCanceledException)
                {
                    // Did not stop in time: killed below.
                }
            }

            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>Starts the emulator again on the same ports (and, when persistent, with the same data).</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) => LaunchAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_location is not null)
        {
            try
            {
                Directory.Delete(_location, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder is harmless.
            }
        }
    }

    private async Task LaunchAsync(CancellationToken cancellationToken)
    {
        var root = RepositoryRoot.Find();
        var script = await EnsureInstalledAsync(root, cancellationToken);
        var arguments = new List<string>
        {
            script, "--skipApiVersionCheck", "--disableTelemetry", "--silent", "--loose",
            "--blobHost", "127.0.0.1", "--blobPort", BlobPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--queueHost", "127.0.0.1", "--queuePort", QueuePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tableHost", "127.0.0.1", "--tablePort", TablePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (_location is null)
        {
            arguments.Add("--inMemoryPersistence");
        }
        else
        {
            arguments.AddRange(["--location", _location]);
        }

        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = root };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node for Azurite.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        foreach (var port in new[] { BlobPort, QueuePort, TablePort })
        {
            while (!await IsListeningAsync(port, cancellationToken))
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException($"Azurite exited with code {_process.ExitCode} before it was ready.");
                }

                if (deadline.Elapsed > TimeSpan.FromSeconds(60))
                {
                    throw new TimeoutException("Azurite did not start within 60 s.");
                }

                await Task.Delay(50, cancellationToken);
            }
        }
    }

    /// <summary>Installs the pinned Azurite with <c>npm ci</c> if the repository has not got it yet.</summary>
    public static async Task<string> EnsureInstalledAsync(string root, CancellationToken cancellationToken)
    {
        var script = Path.Combine(root, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (File.Exists(script))
        {
            return script;
        }

        await InstallLock.WaitAsync(cancellationToken);
        try
        {
            if (File.Exists(script))
            {
                return script;
            }

            // Another process (a parallel test assembly) may be installing too: serialise on a lock file.
            using var lockFile = await AcquireFileLockAsync(Path.Combine(Path.GetTempPath(), "iamf-npm-ci.lock"), cancellationToken);
            if (!File.Exists(script))
            {
                var npm = new ProcessStartInfo("npm") { WorkingDirectory = root, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var argument in new[] { "ci", "--no-audit", "--no-fund", "--loglevel=error" })
                {
                    npm.ArgumentList.Add(argument);
                }

                using var process = Process.Start(npm) ?? throw new InvalidOperationException("Could not start npm.");
                var errors = process.StandardError.ReadToEndAsync(cancellationToken);
                _ = await process.StandardOutput.ReadToEndAsync(cancellationToken);
                await process.WaitForExitAsync(cancellationToken);
                if (process.ExitCode != 0 || !File.Exists(script))
                {
                    throw new InvalidOperationException($"npm ci failed (exit {process.ExitCode}): {await errors}");
                }
            }

            return script;
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static async Task<FileStream> AcquireFileLockAsync(string path, CancellationToken cancellationToken)
    {
        for (var i = 0; ; i++)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (i < 1200)
            {
                await Task.Delay(250, cancellationToken);
            }
        }
    }

    private static async Task<bool> IsListeningAsync(int port, CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Finds the repository root (the folder holding IamFulfillment.sln) from wherever the process runs.</summary>
public static class RepositoryRoot
{
    public static string Find()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "IamFulfillment.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("Could not find the repository root (IamFulfillment.sln) above " + AppContext.BaseDirectory);
    }
}
