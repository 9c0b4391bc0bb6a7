"""Every prompt is audible over the music within a second of its time (issue: session audio).

The media the phone plays is decoded, not the code that makes it trusted: the prompt track
as the server sends it, and the music bed as the phone's own renderer (soundscape.js in
Chromium) makes it, at the track, offset and cross-fade gain the player uses at each cue. The
bed is taken at full volume (iOS ignores the volume setting, and nothing ducks it there), the
loudest case. At every cue of the Walkthrough and the IV demo template:
- the chime is above the bed within the first half second of the cue's time;
- with the chime taken out, the words are above the bed within the first second.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from kap.demo.content import IV_TEMPLATE, WALKTHROUGH
from kap.services.audio.chime import chime
from kap.services.audio.prompt_track import VOICE_AFTER_CHIME
from kap.services.audio.samples import SAMPLE_RATE, rms
from tests.audio_helpers import read_track
from tests.browser.helpers import sign_in

PATIENT = "patient@demo.test"
#: Windows the bed and the prompt are compared over.
CHIME_WINDOW = (0.0, 0.5)
WORDS_WINDOW = (VOICE_AFTER_CHIME, 1.0)

#: The music bed's RMS over each window, computed in the page from the rendered soundscapes.
BED_RMS = """
async ({ playlist, crossfade, windows }) => {
  const { renderSoundscape } = await import('/static/js/lib/session/soundscape.js');
  const { positionAt, fadeGain, trackStarts } = await import('/static/js/lib/session/timeline.js');
  const pcm = async (blob) => {
    const view = new DataView(await blob.arrayBuffer());
    let at = 12, rate = 0;
    while (at < view.byteLength) {
      const id = String.fromCharCode(...new Uint8Array(view.buffer, at, 4));
      const size = view.getUint32(at + 4, true);
      if (id === 'fmt ') rate = view.getUint32(at + 12, true);
      if (id === 'data') {
        return { rate, samples: new Int16Array(view.buffer.slice(at + 8, at + 8 + size)) };
      }
      at += 8 + size + (size % 2);
    }
    throw new Error('no data chunk');
  };
  const loops = [];
  for (const track of playlist) {
    const seconds = track.duration_seconds;
    loops.push(await pcm(await renderSoundscape(track.soundscape, { durationSeconds: seconds })));
  }
  const starts = trackStarts(playlist, crossfade);
  return windows.map(([from, to]) => {
    let power = 0, count = 0;
    for (let t = from; t < to; t += 1 / 2000) {
      const pos = positionAt(t, playlist, crossfade);
      if (!pos) continue;
      let value = 0;
      for (const index of [pos.index, pos.fadingTo]) {
        if (index === null || index === undefined) continue;
        const offset = t - starts[index];
        const { rate, samples } = loops[index];
        const sample = samples[Math.floor(offset * rate) % samples.length] / 32768;
        value += sample * fadeGain(index, offset, playlist, crossfade);
      }
      power += value * value;
      count += 1;
    }
    return Math.sqrt(power / Math.max(count, 1));
  });
}
"""


def _window(samples, start: float, end: float):
    return samples[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)]


def _without_chime(track, at: float):
    """The track with the cue's chime subtracted (what remains is the words)."""
    out = track.copy()
    first = round(at * SAMPLE_RATE)
    part = chime()[: max(0, out.size - first)]
    out[first : first + part.size] -= part
    return out


@pytest.mark.parametrize("template", [WALKTHROUGH, IV_TEMPLATE])
def test_every_prompt_is_audible_over_the_music_within_a_second(
    page: Page, live_server, template: str
):
    sign_in(page, PATIENT)
    session_id = live_server.book_session_now(PATIENT, template, "")
    data = page.request.get(f"/api/v1/sessions/{session_id}").json()
    answer = page.request.get(data["prompt_audio"]["url"])
    assert answer.ok and answer.headers["content-type"] == "audio/mp4"
    track = read_track(answer.body())
    assert all(t["kind"] == "soundscape" for t in data["playlist"])  # the demo's music
    times = [float(cue["at_seconds"]) for cue in data["cues"]]
    windows = [[t + a, t + b] for t in times for a, b in (CHIME_WINDOW, WORDS_WINDOW)]
    beds = page.evaluate(
        BED_RMS,
        {"playlist": data["playlist"], "crossfade": data["crossfade_seconds"], "windows": windows},
    )
    report = []
    for number, at in enumerate(times):
        chime_bed, words_bed = beds[2 * number], beds[2 * number + 1]
        chime_level = rms(_window(track, at + CHIME_WINDOW[0], at + CHIME_WINDOW[1]))
        words = _window(_without_chime(track, at), at + WORDS_WINDOW[0], at + WORDS_WINDOW[1])
        words_level = rms(words)
        report.append((at, round(chime_level / chime_bed, 2), round(words_level / words_bed, 2)))
        assert chime_bed > 0.01 and words_bed > 0.01, (at, "the music bed was silent")
        # Above the bed by at least 3 dB: a clear bell and clear words over calm music.
        assert chime_level > 1.41 * chime_bed, report
        assert words_level > 1.41 * words_bed, report
    print(template, "prompt/bed RMS ratios (cue s, chime, words):", report)
