"""A synthetic overhead arena: rats with different motion styles, in scenarios with different layouts and fog,
recorded in sessions; writes a RatPose-style store and its frames, deterministically from a seed.

The RatPose / DMSD paper's data is not public, so tests and benchmarks of future-position prediction run on this.
The scenarios mirror the paper's (open field, eight-arm maze, lab simulation with obstacles, light and dense fog);
individuals differ in speed, turning, wall-following (thigmotaxis) and pauses, as the paper's six rats differ;
sessions change the animal's state (speed) and the fog, as the paper's recording days do.

Frames are grey uint8 squares, written to ``<store stem>_frames.h5`` beside the store, one dataset
``/videos/<clip id>`` (T, H, W) per clip; each clip's ``/clips/source`` names that file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import h5py
import numpy as np

from ...progress import progress_bar
from ...store import Clip, StoreWriter, atomic_path
from .labels import CENTRE_LAYOUT, clip_text


@dataclass(frozen=True)
class Scenario:
    name: str
    difficulty: str
    walls: str  # "box": a square arena; "maze": eight arms from a central hub
    obstacles: tuple[tuple[float, float, float, float], ...] = ()  # x1, y1, x2, y2 as fractions of the frame
    fog: float = 0.0  # peak opacity of the drifting fog
    floor: int = 150  # floor grey level
    texture: float = 0.0  # amplitude of the floor's pattern (grass, mats)


@dataclass(frozen=True)
class MotionStyle:
    name: str
    speed: float  # frame widths per second while moving
    turning: float  # heading noise, radians per square-root second
    thigmotaxis: float  # 0..1: how strongly the animal seeks and follows walls
    pause_rate: float  # pauses started per second of moving
    pause_s: float  # mean pause length, seconds


SCENARIOS = (
    Scenario("open_field", "easy", "box"),
    Scenario("maze", "medium", "maze", floor=170),
    Scenario("labsim", "medium", "box", obstacles=((0.3, 0.3, 0.45, 0.5), (0.6, 0.55, 0.75, 0.7)), texture=25),
    Scenario("light_fog", "hard", "box", fog=0.45, texture=10),
    Scenario("dense_fog", "hard", "box", fog=0.75, texture=10),
)
INDIVIDUALS = (
    MotionStyle("A", speed=0.10, turning=0.8, thigmotaxis=0.8, pause_rate=0.15, pause_s=1.5),
    MotionStyle("B", speed=0.16, turning=1.2, thigmotaxis=0.3, pause_rate=0.25, pause_s=1.0),
    MotionStyle("C", speed=0.07, turning=0.6, thigmotaxis=0.9, pause_rate=0.35, pause_s=2.5),
    MotionStyle("D", speed=0.13, turning=1.8, thigmotaxis=0.1, pause_rate=0.10, pause_s=1.0),
    MotionStyle("E", speed=0.11, turning=1.0, thigmotaxis=0.5, pause_rate=0.20, pause_s=2.0),
    MotionStyle("F", speed=0.18, turning=0.9, thigmotaxis=0.6, pause_rate=0.30, pause_s=0.8),
)
WALL = 0.08  # wall thickness, fraction of the frame
BODY = (0.12, 0.06)  # rat body length and width, fractions of the frame


def free_space(scenario: Scenario, size: int) -> np.ndarray:
    """(size, size) uint8 mask, 1 where the animal may be."""
    wall = max(1, round(WALL * size))
    free = np.zeros((size, size), np.uint8)
    if scenario.walls == "maze":
        centre, half = (size - 1) / 2, max(2, round(0.07 * size))
        for angle in np.arange(8) * np.pi / 4:  # eight arms from the hub
            end = (centre + (size / 2 - wall) * np.cos(angle), centre + (size / 2 - wall) * np.sin(angle))
            cv2.line(free, (round(centre), round(centre)), tuple(round(v) for v in end), 1, thickness=2 * half)
        cv2.circle(free, (round(centre), round(centre)), round(0.15 * size), 1, thickness=-1)
    else:
        free[wall : size - wall, wall : size - wall] = 1
    for x1, y1, x2, y2 in scenario.obstacles:
        free[round(y1 * size) : round(y2 * size), round(x1 * size) : round(x2 * size)] = 0
    return free


def simulate(
    scenario: Scenario,
    style: MotionStyle,
    seconds: float,
    fps: float,
    size: int,
    rng: np.random.Generator,
    speed_factor: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (T, 2) in pixels and headings (T,) in radians (image angle, y down) of one animal."""
    free = free_space(scenario, size)
    clearance = cv2.distanceTransform(free, cv2.DIST_L2, 5)
    grad_y, grad_x = np.gradient(cv2.GaussianBlur(clearance, (5, 5), 0))
    body = BODY[0] * size / 2
    ys, xs = np.nonzero(clearance > body)
    start = rng.integers(len(xs))
    position = np.array([xs[start], ys[start]], float)
    heading = rng.uniform(-np.pi, np.pi)
    dt, paused = 1.0 / fps, 0.0
    bout_speed = style.speed
    positions, headings = [], []
    for _ in range(int(round(seconds * fps))):
        positions.append(position.copy())
        headings.append(heading)
        if paused > 0:
            paused -= dt
            heading += rng.normal(0, 0.3 * style.turning * np.sqrt(dt))  # looks around while still
            continue
        if rng.random() < style.pause_rate * dt:
            paused = min(rng.exponential(style.pause_s), 3 * style.pause_s)  # no session-long freezes
            bout_speed = style.speed * rng.uniform(0.6, 1.4)
            continue
        x, y = np.clip(position.round().astype(int), 0, size - 1)
        away = np.arctan2(grad_y[y, x], grad_x[y, x])  # direction of more clearance
        if clearance[y, x] < 2.5 * body:  # near a wall: turn to run along it
            along = min((away + np.pi / 2, away - np.pi / 2), key=lambda a: abs(np.angle(np.exp(1j * (a - heading)))))
            heading += style.thigmotaxis * np.angle(np.exp(1j * (along - heading))) * 0.5
        else:  # in the open: drift towards the nearest wall
            heading += style.thigmotaxis * 0.15 * np.angle(np.exp(1j * (away + np.pi - heading)))
        heading += rng.normal(0, style.turning * np.sqrt(dt))
        for _attempt in range(8):
            step = bout_speed * speed_factor * size * dt * np.array([np.cos(heading), np.sin(heading)])
            nx, ny = np.clip((position + step).round().astype(int), 0, size - 1)
            if clearance[ny, nx] > body * 0.6:
                position = position + step
                break
            heading += rng.choice((-1, 1)) * rng.uniform(np.pi / 2, np.pi)
    return np.array(positions), np.array(headings)


def render(
    scenario: Scenario,
    positions: np.ndarray,
    headings: np.ndarray,
    size: int,
    rng: np.random.Generator,
    floor_rng: np.random.Generator,
    fog_rng: np.random.Generator,
) -> np.ndarray:
    """(T, size, size) uint8 overhead frames: floor, walls, obstacles, the rat, drifting fog, sensor noise.
    ``floor_rng`` draws the floor pattern (one per scenario), ``fog_rng`` the fog (one per scenario and session:
    clips recorded together look alike, which the scenario contrast loss relies on)."""
    free = free_space(scenario, size)
    pattern = cv2.resize(floor_rng.normal(0, 1, (8, 8)), (size, size), interpolation=cv2.INTER_CUBIC)
    background = np.where(free > 0, scenario.floor + scenario.texture * pattern, 45.0)
    fog = cv2.GaussianBlur(fog_rng.uniform(0, 1, (2 * size, 2 * size)), (0, 0), size / 6)
    fog = (fog - fog.min()) / max(np.ptp(fog), 1e-6)
    drift = fog_rng.normal(0, 1, 2)
    drift *= size / 40 / np.linalg.norm(drift)  # fog drifts ~1/40 of the frame per frame
    axes = (max(1, round(BODY[0] * size / 2 * 16)), max(1, round(BODY[1] * size / 2 * 16)))
    frames = np.empty((len(positions), size, size), np.uint8)
    for t, ((x, y), heading) in enumerate(zip(positions, headings)):
        frame = background.copy()
        centre = (round(x * 16), round(y * 16))  # cv2 draws at 1/16 pixel with shift=4
        cv2.ellipse(frame, centre, axes, float(np.degrees(heading)), 0, 360, 235, -1, cv2.LINE_AA, 4)
        nose = (
            round((x + np.cos(heading) * BODY[0] * size / 2) * 16),
            round((y + np.sin(heading) * BODY[0] * size / 2) * 16),
        )
        cv2.circle(frame, nose, max(16, axes[1] // 2), 90, -1, cv2.LINE_AA, 4)  # dark nose: the heading shows
        if scenario.fog:
            ox, oy = (np.array([size / 2, size / 2]) + drift * t).astype(int) % size
            frame = (
                frame * (1 - scenario.fog * fog[oy : oy + size, ox : ox + size])
                + 200 * scenario.fog * fog[oy : oy + size, ox : ox + size]
            )
        frames[t] = np.clip(frame + rng.normal(0, 3, frame.shape), 0, 255)
    return frames


def box_of(positions: np.ndarray, headings: np.ndarray, size: int) -> np.ndarray:
    """(T, 4) x1, y1, x2, y2 of the rat's body ellipse."""
    a, b = BODY[0] * size / 2, BODY[1] * size / 2
    half_w = np.hypot(a * np.cos(headings), b * np.sin(headings))
    half_h = np.hypot(a * np.sin(headings), b * np.cos(headings))
    return np.stack(
        [positions[:, 0] - half_w, positions[:, 1] - half_h, positions[:, 0] + half_w, positions[:, 1] + half_h], axis=1
    )


def frames_path(store_path) -> Path:
    """The frames file written beside a generated store."""
    store_path = Path(store_path)
    return store_path.with_name(f"{store_path.stem}_frames.h5")


def generate(
    output,
    *,
    scenarios=SCENARIOS,
    individuals=INDIVIDUALS,
    sessions: int = 2,
    seconds: float = 60.0,
    fps: float = 10.0,
    size: int = 64,
    seed: int = 0,
    test_scenarios=("dense_fog",),
    test_individuals=("F",),
    progress: bool = True,
) -> dict:
    """Write a RatPose-style store at ``output`` and its frames beside it; one clip per scenario, individual and
    session. Splits: ``train_scenario`` / ``test_scenario`` hold out ``test_scenarios``; ``train_individual`` /
    ``test_individual`` hold out ``test_individuals``. Each clip depends only on the seed and its own indices."""
    output = Path(output)
    video_file = frames_path(output)
    jobs = [(si, ii, k) for si in range(len(scenarios)) for ii in range(len(individuals)) for k in range(sessions)]
    with (
        atomic_path(video_file) as tmp_frames,
        h5py.File(tmp_frames, "w") as videos,
        StoreWriter(
            output,
            layout=CENTRE_LAYOUT,
            coord_dims=2,
            name=output.stem,
            provenance=dict(step="arena", seed=seed, fps=fps, size=size, seconds=seconds),
        ) as writer,
    ):
        for si, ii, k in progress_bar(jobs, desc="arena", unit="clip", show=progress):
            scenario, style = scenarios[si], individuals[ii]
            rng = np.random.default_rng([seed, si, ii, k])
            speed_factor = rng.uniform(0.8, 1.2)  # the animal's state on that day
            positions, headings = simulate(scenario, style, seconds, fps, size, rng, speed_factor)
            clip_id = f"{scenario.name}-{style.name}-s{k + 1}"
            frames = render(
                scenario,
                positions,
                headings,
                size,
                rng,
                floor_rng=np.random.default_rng([seed, si]),
                fog_rng=np.random.default_rng([seed, si, k, 1000]),
            )
            videos.create_dataset(f"videos/{clip_id}", data=frames, chunks=(1, size, size), compression="lzf")
            held_scenario = scenario.name in test_scenarios
            held_individual = style.name in test_individuals
            splits = (
                "test_scenario" if held_scenario else "train_scenario",
                "test_individual" if held_individual else "train_individual",
            )
            writer.add(
                Clip(
                    id=clip_id,
                    keypoints=positions[:, None, None, :].astype(np.float32),
                    scores=np.ones((len(positions), 1, 1), np.float32),
                    box=box_of(positions, headings, size)[:, None].astype(np.float32),
                    fps=fps,
                    image_size=(size, size),
                    source=video_file.name,
                    splits=splits,
                    text=clip_text(scenario.name, f"s{k + 1}", style.name, scenario.difficulty),
                )
            )
        videos.attrs.update(fps=fps, size=size, store=output.name)
    return {
        "clips": len(jobs),
        "frames": len(jobs) * int(round(seconds * fps)),
        "store": str(output),
        "frames_file": str(video_file),
    }
