namespace Platform.Load.Reporting;

/// <summary>
/// Totals shared by all loops of a run, read once a second for progress lines. Interlocked increments are cheap
/// next to a network round trip and keep the progress honest while the run is going.
/// </summary>
internal sealed class LiveCounters
{
    private long _sent;
    private long _done;
    private long _errors;

    /// <summary>Messages handed to the client (published or requested).</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Messages completed: acked, received or answered, depending on the scenario.</summary>
    public long Done => Interlocked.Read(ref _done);

    public long Errors => Interlocked.Read(ref _errors);

    public void AddSent(long n = 1) => Interlocked.Add(ref _sent, n);
    public void AddDone(long n = 1) => Interlocked.Add(ref _done, n);
    public void AddError(long n = 1) => Interlocked.Add(ref _errors, n);

    /// <summary>The first error text seen, kept because "1234 errors" alone does not say what went wrong.</summary>
    public string? FirstError { get; private set; }

    public void NoteError(string text)
    {
        AddError();
        if (FirstError is null)
            lock (this)
                FirstError ??= text;
    }
}
