// mace's progressive enhancement. Every page works without this script; it only adds
// GOV.UK Frontend's behaviour (menu toggles, error summary focus, and so on) where the
// browser supports ES modules and the body carries `govuk-frontend-supported`, and saves
// drafts in the background on forms that ask for it.
import { initAll } from './govuk-frontend.min.js'

initAll()

// A form with `data-autosave="URL"` is posted there (as the form itself would be, CSRF token
// included) a few seconds after the last change, so a timeout never loses what was typed. The
// "Save as draft" button does the same without JavaScript.
const AUTOSAVE_DELAY_MS = 3000

function autosave (form) {
  const url = form.dataset.autosave
  const status = form.querySelector('#draft-status')
  let timer = null
  let last = null
  const save = async () => {
    const body = new URLSearchParams(new FormData(form))
    const text = body.toString()
    if (text === last) return
    try {
      const res = await fetch(url, {
        method: 'POST',
        body,
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' }
      })
      if (res.status === 204) {
        last = text
        if (status) {
          const t = new Date()
          const hh = String(t.getHours()).padStart(2, '0')
          const mm = String(t.getMinutes()).padStart(2, '0')
          status.textContent = `Draft saved at ${hh}:${mm}. Only you can see it.`
        }
      } else if (status) {
        status.textContent = 'Your draft could not be saved. Use ‘Save as draft’ before you leave this page.'
      }
    } catch (e) {
      if (status) status.textContent = 'Your draft could not be saved. Check your connection.'
    }
  }
  const later = () => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(save, AUTOSAVE_DELAY_MS)
  }
  form.addEventListener('input', later)
  form.addEventListener('change', later)
}

document.querySelectorAll('form[data-autosave]').forEach(autosave)

// The network drawing: a page with `data-network="ID"` on a hidden container and the graph as
// JSON in `<script type="application/json" id="ID">` gets an interactive drawing (a simple
// force layout; drag a node to move it; select a node, by click or Enter, to highlight what it
// is linked to). The table below it stays the full, accessible account of the same network.
const SVG = 'http://www.w3.org/2000/svg'
const KIND_COLOURS = {
  child: '#1d70b8', report: '#505a5f', person: '#d4351c', vehicle: '#f47738',
  phone: '#4c2c92', postcode: '#00703c', place: '#00703c', handle: '#912b88', business: '#6f72af'
}

function layout (nodes, edges, width, height) {
  const n = nodes.length
  const pos = nodes.map((_, i) => {
    const a = (2 * Math.PI * i) / Math.max(n, 1)
    const r = 40 + 30 * (nodes[i].distance || 0)
    return { x: width / 2 + r * Math.cos(a), y: height / 2 + r * Math.sin(a) }
  })
  const index = new Map(nodes.map((d, i) => [d.id, i]))
  const links = edges.map(([a, b]) => [index.get(a), index.get(b)]).filter(([a, b]) => a !== undefined && b !== undefined)
  const k = Math.sqrt((width * height) / Math.max(n, 1)) * 0.6
  for (let step = 0; step < 200; step++) {
    const t = 10 * (1 - step / 200)
    const disp = pos.map(() => ({ x: 0, y: 0 }))
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const dx = pos[i].x - pos[j].x
        const dy = pos[i].y - pos[j].y
        const d = Math.max(Math.hypot(dx, dy), 0.01)
        const f = (k * k) / d
        disp[i].x += (dx / d) * f; disp[i].y += (dy / d) * f
        disp[j].x -= (dx / d) * f; disp[j].y -= (dy / d) * f
      }
    }
    for (const [a, b] of links) {
      const dx = pos[a].x - pos[b].x
      const dy = pos[a].y - pos[b].y
      const d = Math.max(Math.hypot(dx, dy), 0.01)
      const f = (d * d) / k
      disp[a].x -= (dx / d) * f; disp[a].y -= (dy / d) * f
      disp[b].x += (dx / d) * f; disp[b].y += (dy / d) * f
    }
    for (let i = 0; i < n; i++) {
      const d = Math.max(Math.hypot(disp[i].x, disp[i].y), 0.01)
      pos[i].x = Math.min(width - 20, Math.max(20, pos[i].x + (disp[i].x / d) * Math.min(d, t)))
      pos[i].y = Math.min(height - 20, Math.max(20, pos[i].y + (disp[i].y / d) * Math.min(d, t)))
    }
  }
  return { pos, links }
}

function drawNetwork (container) {
  const data = document.getElementById(container.dataset.network)
  if (!data) return
  let graph
  try { graph = JSON.parse(data.textContent) } catch (e) { return }
  if (!graph.nodes || graph.nodes.length < 2) return
  const width = 720
  const height = 480
  const { pos, links } = layout(graph.nodes, graph.edges || [], width, height)
  const svg = document.createElementNS(SVG, 'svg')
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`)
  svg.setAttribute('role', 'group')
  svg.setAttribute('aria-label', 'Network drawing. The table below lists the same reports and entities.')
  svg.classList.add('mace-network__svg')
  const status = document.createElement('p')
  status.className = 'govuk-body'
  status.setAttribute('aria-live', 'polite')
  status.id = 'network-selected'
  const lines = links.map(([a, b]) => {
    const l = document.createElementNS(SVG, 'line')
    l.setAttribute('stroke', '#b1b4b6')
    l.setAttribute('stroke-width', '2')
    svg.appendChild(l)
    return l
  })
  const groups = graph.nodes.map((d, i) => {
    const g = document.createElementNS(SVG, 'g')
    g.setAttribute('tabindex', '0')
    g.setAttribute('role', 'button')
    g.setAttribute('aria-label', `${d.label} (${d.kind})`)
    g.dataset.id = d.id
    const c = document.createElementNS(SVG, 'circle')
    c.setAttribute('r', d.id === graph.centre ? '12' : d.kind === 'report' ? '6' : '9')
    c.setAttribute('fill', KIND_COLOURS[d.kind] || '#0b0c0c')
    c.setAttribute('stroke', '#0b0c0c')
    const t = document.createElementNS(SVG, 'text')
    t.textContent = d.label
    t.setAttribute('x', '12')
    t.setAttribute('y', '4')
    t.setAttribute('font-size', '12')
    g.appendChild(c)
    g.appendChild(t)
    svg.appendChild(g)
    return g
  })
  const place = () => {
    links.forEach(([a, b], i) => {
      lines[i].setAttribute('x1', pos[a].x); lines[i].setAttribute('y1', pos[a].y)
      lines[i].setAttribute('x2', pos[b].x); lines[i].setAttribute('y2', pos[b].y)
    })
    groups.forEach((g, i) => g.setAttribute('transform', `translate(${pos[i].x},${pos[i].y})`))
  }
  const select = (i) => {
    const near = new Set([i])
    links.forEach(([a, b]) => { if (a === i) near.add(b); if (b === i) near.add(a) })
    groups.forEach((g, j) => { g.style.opacity = near.has(j) ? '1' : '0.25' })
    lines.forEach((l, j) => { const [a, b] = links[j]; l.style.opacity = (a === i || b === i) ? '1' : '0.15' })
    status.textContent = `${graph.nodes[i].label}: linked to ${near.size - 1}.`
  }
  let dragging = null
  groups.forEach((g, i) => {
    g.addEventListener('click', () => select(i))
    g.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(i) } })
    g.addEventListener('pointerdown', (e) => { dragging = i; g.setPointerCapture(e.pointerId) })
    g.addEventListener('pointerup', () => { dragging = null })
    g.addEventListener('pointermove', (e) => {
      if (dragging !== i) return
      const box = svg.getBoundingClientRect()
      pos[i].x = ((e.clientX - box.left) / box.width) * width
      pos[i].y = ((e.clientY - box.top) / box.height) * height
      place()
    })
  })
  place()
  container.appendChild(svg)
  container.appendChild(status)
  container.hidden = false
}

document.querySelectorAll('[data-network]').forEach(drawNetwork)
