"""Report section: what the GPU earns on the network against renting it out, the customer's
price per million tokens, and the month-by-month token price needed to beat the market."""

from __future__ import annotations

import html

import pandas as pd

from analysis.core.errors import CocoonEconError
from analysis.core.resources import SCENARIO_DIR
from analysis.econ import compare as cmp
from analysis.econ.metrics import breakeven_summary
from analysis.market import rates
from analysis.report import ReportContext, Section
from analysis.report.charts import compare as charts


def _fmt(value, spec: str, suffix: str = "") -> str:
    return "&ndash;" if value is None else format(value, spec) + suffix


def build(ctx: ReportContext) -> Section | None:
    files = list(ctx.scenario_files) if ctx.scenario_files else sorted(SCENARIO_DIR.glob("*.toml"))
    if not files:
        return None
    scenarios = [ctx.scenario(f) for f in files]
    figures, rows, blocks, notes = [], [], [], []
    customer_done = False
    every_rate = ctx.all_rates()   # read once for every scenario (None: each reads and falls back its way)
    for s in scenarios:
        shows_customer = s.network.name == "cocoon" and not customer_done  # the customer's side once
        try:
            r = cmp.compare(s, cache_dir=ctx.cache_dir, with_history=False, with_customer=shows_customer,
                            all_rates=every_rate)
        except CocoonEconError as exc:  # one scenario's problem is reported, not fatal
            notes.append(f"{html.escape(s.name)}: {html.escape(str(exc))}")
            continue
        p, tok = r["provider"], r["token"]
        be = p["break_even"]
        name = html.escape(s.name)
        rows.append(
            f"<tr><td>{name}</td><td>{html.escape(s.network.name)}</td><td>{html.escape(p['gpu'])}</td>"
            f"<td>{p['utilisation']:.0%}</td><td>{r['token_usd']:.4f} {tok}</td>"
            f"<td>{p['network_usd_per_gpu_hour']:.3f}</td>"
            f"<td>{_fmt(None if be is None else p['market_rental']['usd_per_gpu_hour'], '.2f')}</td>"
            f"<td>{_fmt(None if be is None else be['network_net_usd_per_gpu_hour'], '.3f')} vs "
            f"{_fmt(None if be is None else be['rental_net_usd_per_gpu_hour'], '.3f')}</td>"
            f"<td>{_fmt(None if be is None else be['token_usd_to_beat'], '.3f')}</td>"
            f"<td>{_fmt(None if be is None or be['utilisation_to_beat'] is None else 100 * be['utilisation_to_beat'], '.0f', '%')}</td></tr>")
        alternatives = pd.DataFrame(p["alternatives"])
        if not alternatives.empty:
            figures.append(charts.provider_bars(p["network_usd_per_gpu_hour"], alternatives, s.network.name,
                                                f"{s.name}: USD per GPU-hour on {s.network.name} vs renting the "
                                                f"{p['gpu']} elsewhere"))
            history = cmp.beat_market_history(
                s, rates_frame=None if every_rate is None else rates.gpu_rows(every_rate, s.hardware.gpu),
                cache_dir=ctx.cache_dir)
            if (history["rental_quotes"] > 0).any():
                figures.append(charts.beat_market_history(
                    history, tok, f"{s.name}: {tok} price needed to beat the market rental rate, by month"))
                h = history[history["rental_quotes"] > 0]
                blocks.append(f"<p><b>{name}</b>: {s.network.name} beat the market rental rate (net of power) in "
                              f"{int(h['beats'].sum())} of {len(h)} months with rental prices on record "
                              f"({h.index[0]:%Y-%m} .. {h.index[-1]:%Y-%m}).</p>")
        else:
            blocks.append(f"<p><b>{name}</b>: no rental prices on record for the {html.escape(p['gpu'])}; fetch "
                          f"some with <code>cocoon-econ fetch rates --source vastai --gpu {html.escape(p['gpu'])}"
                          "</code>.</p>")
        if s.network.name == "render":
            blocks.append(_render_block(s, r))
        if shows_customer:
            c = r["customer"]
            own = {"COCOON completion": c["cocoon_usd_per_m_completion"],
                   "COCOON per output token at this workload": c["cocoon_usd_per_m_output_at_workload"]}
            figures.append(charts.customer_bars(own, pd.DataFrame(c["alternatives"]),
                                                f"The customer's price per million output tokens "
                                                f"(TON at {r['token_usd']:.4f} USD)"))
            blocks.append(f"<p>Customer view: COCOON charges {c['cocoon_usd_per_m_prompt']:.4f} USD per million "
                          f"prompt tokens and {c['cocoon_usd_per_m_completion']:.4f} per million completion tokens "
                          f"(20 nanoTON x 1x / 8x per token at {r['token_usd']:.4f} USD/TON); with the "
                          f"{name} workload's prompts, {c['cocoon_usd_per_m_output_at_workload']:.4f} USD per million "
                          "output tokens. Renting a hyperscaler GPU is priced at measured throughput: "
                          "USD per GPU-hour / (output tokens/s x 3600) x 10<sup>6</sup>.</p>")
            customer_done = True
    if not rows:
        return None
    head = ("<tr><th>scenario</th><th>network</th><th>GPU</th><th>utilisation</th><th>token price</th>"
            "<th>network USD/GPU-h</th><th>market rental USD/GPU-h</th><th>net of power:<br>network vs rental</th>"
            "<th>token price<br>to beat renting</th><th>utilisation<br>to beat renting</th></tr>")
    intro = (
        "<p>Provider view: what a GPU earns per wall-clock hour on the network (every payout sold when it "
        "arrives, net of on-chain and trading fees) against renting it out. The <b>market rental rate</b> is the "
        "median of the latest price of each marketplace, neocloud and price index in the rates history. "
        "Assumptions: marketplace prices are what the renter pays, not all-in, so the owner pays the power "
        "either way and both sides are compared <b>net of power</b>; colocation, fixed costs and depreciation "
        "are the same either way and cancel; a rented GPU is rented all the time (the best case for renting). "
        "Hyperscaler prices are the customer's alternative, shown for scale.</p>"
        f"<table>{head}{''.join(rows)}</table>")
    after = "".join(blocks) + "".join(f"<p class='note bad'>{n}</p>" for n in notes)
    return Section(title="Comparison: renting out, hyperscalers, inference APIs", intro_html=intro, figures=figures,
                   after_html=after, anchor="compare")


def _render_block(s, r: dict) -> str:
    b = breakeven_summary(s, r["token_usd"])
    return (f"<p><b>{html.escape(s.name)}</b> (Render Network): jobs at {s.network.job_usd_per_gpu_hour:.2f} USD per "
            f"GPU-hour paid in RENDER (less the {s.network.protocol_fee:.0%} protocol fee) plus "
            f"{s.network.job_reward_per_epoch:g} RENDER per weekly epoch at full utilisation and "
            f"{s.network.availability_reward_per_epoch:g} for availability: {b['ton_per_day']:.3f} RENDER a day at "
            f"{r['token_usd']:.4f} USD = {b['usd_income_per_day']:.2f} USD a day; costs "
            f"{sum(b['usd_costs_per_day'].values()):.2f} USD a day incl. depreciation; break-even RENDER price "
            f"{_fmt(b['break_even_ton_usd'], '.3f')} USD (0: the USD-priced job pay alone covers the costs), "
            f"break-even utilisation {_fmt(None if b['break_even_utilisation'] is None else 100 * b['break_even_utilisation'], '.1f', '%')}.</p>")
